import pino from 'pino';
import type { ImageBuildRequest } from '../../server/images/image-builder.ts';
import { Rollouts } from '../../server/lifecycle/rollouts.ts';
import { Teardown } from '../../server/lifecycle/teardown.ts';
import { AppLocks } from '../../server/locks.ts';
import { LogBus } from '../../server/logs/index.ts';
import { Pipeline, type PipelineDeps } from '../../server/pipeline.ts';
import type { OneOffRequest } from '../../server/racks/one-off.ts';
import { DeploySteps } from '../../server/store/deploy-steps.ts';
import type { Store } from '../../server/store/index.ts';
import { FakeRack } from './fake-rack.ts';

/** A pipeline over a real temporary store, with fakes for Docker: two racks, a builder, images, one-offs. */
export function pipelineWith(store: Store) {
  const racks = [new FakeRack('a'), new FakeRack('b')];
  const fakes = {
    racks,
    built: [] as ImageBuildRequest[],
    oneOffs: [] as OneOffRequest[],
    buildError: undefined as Error | undefined,
    oneOffExitCode: 0,
    pruned: [] as string[][],
  };
  const rackSet = {
    forEnvironment: () => ({ racks, parallel: false }),
    named: (_env: number, name: string) => racks.find((r) => r.name === name),
  };
  const logger = pino({ level: 'silent' });
  const deps: PipelineDeps = {
    store,
    logs: new LogBus(store),
    builder: {
      build: async (req) => {
        fakes.built.push(req);
        if (fakes.buildError) throw fakes.buildError;
      },
    },
    images: {
      buildTag: (env, buildId) => `wm-test/${env.appName}:${env.name}-build-${buildId}`,
      exists: async () => true,
      tagRelease: async () => {},
      adopt: async (image) => image,
      prune: async (_env, keep) => void fakes.pruned.push([...keep]),
    },
    oneOff: {
      run: async (req) => {
        fakes.oneOffs.push(req);
        return fakes.oneOffExitCode;
      },
    },
    rollouts: new Rollouts({ store, racks: rackSet, drainMs: 0, routingSynced: async () => {} }),
    teardown: new Teardown({ store, racks: rackSet, logger, routingSynced: async () => {} }),
    locks: new AppLocks(),
    steps: new DeploySteps(store),
    detectContext: async () => ({ nodeStacks: [], publishedNodeVersions: [] }),
    logger,
    options: {
      buildTimeoutMs: 60_000,
      maxSourceBytes: 1 << 20,
      maxSourceFiles: 100,
      endpointUrl: (env) => `http://${env.appName}.test/`,
      instanceCeiling: { memoryMb: 2048, cpus: 2 },
    },
  };
  return { pipeline: new Pipeline(deps), logs: deps.logs, fakes };
}
