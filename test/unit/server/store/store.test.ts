import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../../helpers/temp-store.ts';

const temp = useTempStore();

describe('store', () => {
  it('migrates, numbers releases per environment and hashes tokens', () => {
    let store = temp.store();
    const token = store.tokens.create('admin');
    expect(store.tokens.isValid(token)).toBe(true);
    expect(store.tokens.isValid(`${token}x`)).toBe(false);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM tokens').all())).not.toContain(token);
    store.apps.create('shop');
    const env = store.apps.environment('shop', 'production')!;
    const draft = {
      environmentId: env.id,
      buildId: null,
      image: 'img:1',
      processes: {},
      config: { A: 'b' },
      manifest: {},
      description: 'd',
    };
    expect(store.releases.create(draft).version).toBe(1);
    expect(store.releases.create(draft).version).toBe(2);
    expect(store.releases.current(env.id)).toBeUndefined();
    store.releases.finish(1, 'succeeded');
    expect(store.releases.current(env.id)?.config).toEqual({ A: 'b' });
    expect(store.failInterrupted('cut off')).toEqual({ builds: 0, releases: 1 });
    // reopening applies no migration twice
    store = temp.reopen();
    expect(store.releases.list(env.id)).toHaveLength(2);
  });

  it('emits a routing change for what the edge routes by, and only for that', () => {
    const store = temp.store();
    const changes: string[] = [];
    let step = '';
    store.routing.on(() => changes.push(step));
    const at = (name: string, write: () => void) => {
      step = name;
      write();
    };
    at('app', () => store.apps.create('shop'));
    const env = store.apps.environment('shop', 'production')!;
    at('config', () => store.config.replace(env.id, { A: 'b' }));
    at('formation', () => store.apps.setFormation(env.id, { web: 1 }));
    const release = store.releases.create({ ...draft(env.id), config: {} });
    at('placement', () =>
      store.placements.set({ environmentId: env.id, rack: 'a', releaseId: release.id, instances: [] }),
    );
    at('domain', () => store.edge.addDomain('shop.example', env.id));
    at('unplaced', () => store.placements.remove(env.id, 'a'));
    at('environment', () => store.apps.createEnvironment(store.apps.get('shop')!.id, 'staging', null, false));
    expect(changes).toEqual(['app', 'placement', 'domain', 'unplaced', 'environment']);
  });

  it('reads a deploy context once: the environment, its live release and its config', () => {
    const store = temp.store();
    store.apps.create('shop');
    const env = store.apps.environment('shop', 'production')!;
    store.config.replace(env.id, { GREETING: 'hi' });
    expect(store.deployContext(env)).toEqual({ environment: env, current: undefined, config: { GREETING: 'hi' } });
    const created = store.releases.create(draft(env.id));
    expect(created).toEqual(store.releases.byId(created.id));
    store.releases.finish(created.id, 'succeeded');
    expect(store.deployContext(env).current).toEqual({ ...created, status: 'succeeded' });
    store.releases.create({ ...draft(env.id), image: 'img:2' });
    expect(store.releases.liveImages(env.id)).toEqual(['img:1']);
  });
});

const draft = (environmentId: number) => ({
  environmentId,
  buildId: null,
  image: 'img:1',
  processes: { web: 'serve' },
  config: { A: 'b' },
  manifest: {},
  description: 'd',
});
