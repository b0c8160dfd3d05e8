import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleDeps } from '../../../../server/lifecycle/index.ts';
import { AppLocks } from '../../../../server/locks.ts';
import type { App, Build, Environment, Instance, Placement } from '../../../../server/store/index.ts';

const app: App = { id: 1, name: 'shop', createdAt: '2026-01-01T00:00:00Z', previews: false };
const production: Environment = {
  id: 1,
  appId: 1,
  appName: 'shop',
  name: 'production',
  branch: 'main',
  preview: false,
};
const web: Instance = { id: 'web-1', service: 'web', host: '127.0.0.1', port: 5000 };

/** A lifecycle whose collaborators record what they are asked, in order, in `events`. */
function fixture() {
  const events: string[] = [];
  const locks = new AppLocks();
  const build = { status: 'building' as Build['status'], polled: 0 };
  const placement: Placement = { environmentId: 1, rack: 'local-a', releaseId: 1, instances: [web] };
  const store = {
    listEnvironments: () => [production],
    listBuilds: () => {
      build.polled++;
      return [{ status: build.status }];
    },
    deleteApp: () => events.push('app row deleted'),
    placements: () => [placement],
  };
  const deps = {
    store,
    locks,
    racks: { named: () => ({ restart: async () => void events.push('restarted') }) },
    teardown: {
      takeDown: async (envs: Environment[], unroute: () => void) => {
        unroute();
        events.push(`took down ${envs.map((e) => e.name).join(',')}`);
      },
    },
    git: { remove: async () => void events.push('repository removed') },
    images: { removeApp: async () => void events.push('images removed') },
    logger: pino({ level: 'silent' }),
  } as unknown as LifecycleDeps;
  return { lifecycle: new Lifecycle(deps), events, locks, build };
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
};

describe('lifecycle', () => {
  it('deletes an app once its build in progress ends: unroute and stop, then the repository, then the images', async () => {
    const { lifecycle, events, build } = fixture();
    const removed = lifecycle.removeApp(app);
    await until(() => build.polled >= 2);
    expect(events).toEqual([]);
    build.status = 'succeeded';
    await removed;
    expect(events).toEqual(['app row deleted', 'took down production', 'repository removed', 'images removed']);
  });

  it('restarts under the deploy lock: after the deploy in progress', async () => {
    const { lifecycle, events, locks } = fixture();
    let finishDeploy = () => {};
    const deploy = locks.run(
      'shop',
      () => {},
      () => new Promise<void>((r) => (finishDeploy = r)),
    );
    const restarted = lifecycle.restart(production, 'web');
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([]);
    finishDeploy();
    await deploy;
    expect(await restarted).toBe(1);
    expect(events).toEqual(['restarted']);
  });

  it('refuses to restart a process type that has no instance', async () => {
    const { lifecycle } = fixture();
    await expect(lifecycle.restart(production, 'worker')).rejects.toMatchObject({ code: 'UNKNOWN_PROCESS_TYPE' });
  });
});
