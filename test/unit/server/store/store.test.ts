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
});
