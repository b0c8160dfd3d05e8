import { describe, expect, it } from 'vitest';
import { WidemeshError } from '../../../server/errors.ts';
import { LogBus } from '../../../server/logs/index.ts';
import type { Pipeline } from '../../../server/pipeline.ts';
import type { Store } from '../../../server/store/index.ts';
import { pipelineWith } from '../../helpers/fake-pipeline.ts';
import { tarOf } from '../../helpers/tar.ts';
import { useTempStore } from '../../helpers/temp-store.ts';

const APP = {
  Dockerfile: 'FROM scratch\nCOPY . /app\n',
  Procfile: 'web: ./serve\nrelease: ./migrate\n',
};

function push(pipeline: Pipeline, commit: string, files: Record<string, string> = APP) {
  return pipeline.deployPush({ app: 'shop', environment: 'production', commit, source: tarOf(files) });
}

const logOf = (store: Store, buildId: number) =>
  store.builds
    .log(buildId)
    .map((l) => l.line)
    .join('\n');

describe('pipeline (fake racks, builder and one-offs; real store)', () => {
  const temp = useTempStore();
  const setUp = () => {
    const store = temp.store();
    store.apps.create('shop');
    const env = store.apps.environment('shop', 'production')!;
    store.config.replace(env.id, { GREETING: 'hello there' });
    return { store, env, ...pipelineWith(store) };
  };

  it('deploys a push: builds, runs the release phase with the config, rolls out to every rack', async () => {
    const { store, env, pipeline, fakes } = setUp();
    const release = await push(pipeline, 'a'.repeat(40));
    expect(release).toMatchObject({ version: 1, status: 'succeeded', description: `Deploy ${'a'.repeat(7)}` });
    expect(fakes.built.map((b) => b.tag)).toEqual([release.image]);
    expect(fakes.oneOffs.map((o) => [o.command, o.release.config])).toEqual([
      ['./migrate', { GREETING: 'hello there' }],
    ]);
    for (const rack of fakes.racks) {
      expect(rack.events).toEqual(['start v1']);
      expect(rack.started[0]).toMatchObject({ config: { GREETING: 'hello there' }, formation: { web: 1 } });
    }
    expect(store.placements.of(env.id).map((p) => [p.rack, p.releaseId])).toEqual([
      ['a', release.id],
      ['b', release.id],
    ]);
    expect(store.releases.current(env.id)?.id).toBe(release.id);
    const [build] = store.builds.list(env.id);
    expect(build).toMatchObject({ status: 'succeeded', buildpack: 'dockerfile', image: release.image });
    expect(logOf(store, build!.id)).toMatch(/v1 of shop is live at http:\/\/shop\.test\//);
  });

  it('a second push replaces the first release in every rack and stops its instances', async () => {
    const { store, env, pipeline, fakes } = setUp();
    await push(pipeline, 'a'.repeat(40));
    const second = await push(pipeline, 'b'.repeat(40));
    expect(second.version).toBe(2);
    for (const rack of fakes.racks) expect(rack.events).toEqual(['start v1', 'start v2', `stop [${rack.name}-v1]`]);
    expect(store.placements.of(env.id).every((p) => p.releaseId === second.id)).toBe(true);
    expect(fakes.pruned.at(-1)?.sort()).toEqual([second.image, store.releases.get(env.id, 1)!.image].sort());
  });

  it('a failed build rejects the push: no release, nothing started, the build says why', async () => {
    const { store, env, pipeline, fakes } = setUp();
    fakes.buildError = new Error('RUN npm ci exited 1');
    await expect(push(pipeline, 'a'.repeat(40))).rejects.toThrow('Build failed: RUN npm ci exited 1');
    expect(store.releases.list(env.id)).toEqual([]);
    expect(fakes.racks.flatMap((r) => r.events)).toEqual([]);
    const [build] = store.builds.list(env.id);
    expect(build).toMatchObject({ status: 'failed', error: 'Build failed: RUN npm ci exited 1' });
    expect(logOf(store, build!.id)).toContain('Push rejected.');
  });

  it('a failed release phase rejects the push before any rack moves; the live release keeps serving', async () => {
    const { store, env, pipeline, fakes } = setUp();
    const live = await push(pipeline, 'a'.repeat(40));
    fakes.oneOffExitCode = 3;
    await expect(push(pipeline, 'b'.repeat(40))).rejects.toThrow('the release phase exited with code 3');
    expect(store.releases.get(env.id, 2)).toMatchObject({ status: 'failed' });
    for (const rack of fakes.racks) expect(rack.events).toEqual(['start v1']);
    expect(store.releases.current(env.id)?.id).toBe(live.id);
    expect(logOf(store, store.builds.list(env.id)[0]!.id)).toContain('Push rejected. v1 keeps serving.');
  });

  it('a rollout that fails in the second rack puts the first back on the previous release', async () => {
    const { store, env, pipeline, fakes } = setUp();
    const live = await push(pipeline, 'a'.repeat(40));
    const [a, b] = fakes.racks;
    b!.failWith = new WidemeshError('HEALTHCHECK_TIMEOUT', 'b never answered');
    await expect(push(pipeline, 'b'.repeat(40))).rejects.toThrow('b never answered');
    expect(a!.events).toEqual(['start v1', 'start v2', 'revert [a-v2] to v1']);
    expect(a!.revertedTo).toMatchObject([{ version: 1, config: { GREETING: 'hello there' } }]);
    expect(store.placements.of(env.id).every((p) => p.releaseId === live.id)).toBe(true);
    expect(store.releases.get(env.id, 2)).toMatchObject({ status: 'failed' });
    expect(store.releases.current(env.id)?.id).toBe(live.id);
  });

  it('a config change makes a release of the running image with the new config, kept only if it rolls out', async () => {
    const { store, env, pipeline, fakes } = setUp();
    const live = await push(pipeline, 'a'.repeat(40));
    const log = new LogBus(store).open(store.builds.create(env.id, null).id);
    const changed = await pipeline.setConfig('shop', 'production', { GREETING: 'hi', EXTRA: 'x' }, log);
    expect(changed).toMatchObject({ version: 2, image: live.image, description: 'Set GREETING, EXTRA config vars' });
    expect(fakes.oneOffs.at(-1)?.release.config).toEqual({ GREETING: 'hi', EXTRA: 'x' });
    expect(fakes.racks[0]!.started.at(-1)?.config).toEqual({ GREETING: 'hi', EXTRA: 'x' });
    expect(store.config.get(env.id)).toEqual({ EXTRA: 'x', GREETING: 'hi' });

    fakes.racks[1]!.failWith = new WidemeshError('INSTANCE_CRASHED', 'crashed');
    await expect(pipeline.setConfig('shop', 'production', { GREETING: null }, log)).rejects.toThrow('crashed');
    expect(store.config.get(env.id)).toEqual({ EXTRA: 'x', GREETING: 'hi' });
    expect(store.releases.current(env.id)?.version).toBe(2);
  });

  it('a config change before the first deploy is only stored', async () => {
    const { store, env, pipeline, fakes } = setUp();
    const log = new LogBus(store).open(store.builds.create(env.id, null).id);
    expect(await pipeline.setConfig('shop', 'production', { GREETING: null }, log)).toBeUndefined();
    expect(store.config.get(env.id)).toEqual({});
    expect(fakes.racks.flatMap((r) => r.events)).toEqual([]);
  });
});
