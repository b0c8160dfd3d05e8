import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../../helpers/temp-store.ts';

const temp = useTempStore();

describe('store', () => {
  it('migrates, numbers releases per environment and hashes tokens', () => {
    let store = temp.store();
    const token = store.createToken('admin');
    expect(store.isValidToken(token)).toBe(true);
    expect(store.isValidToken(`${token}x`)).toBe(false);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM tokens').all())).not.toContain(token);
    store.createApp('shop');
    const env = store.getEnvironment('shop', 'production')!;
    const draft = {
      environmentId: env.id,
      buildId: null,
      image: 'img:1',
      processes: {},
      config: { A: 'b' },
      manifest: {},
      description: 'd',
    };
    expect(store.createRelease(draft).version).toBe(1);
    expect(store.createRelease(draft).version).toBe(2);
    expect(store.currentRelease(env.id)).toBeUndefined();
    store.finishRelease(1, 'succeeded');
    expect(store.currentRelease(env.id)?.config).toEqual({ A: 'b' });
    expect(store.failInterrupted('cut off')).toEqual({ builds: 0, releases: 1 });
    // reopening applies no migration twice
    store = temp.reopen();
    expect(store.listReleases(env.id)).toHaveLength(2);
  });
});
