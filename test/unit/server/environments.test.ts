import { describe, expect, it } from 'vitest';
import { assertEnvironmentName, Environments, previewName } from '../../../server/environments.ts';
import { useTempStore } from '../../helpers/temp-store.ts';

const temp = useTempStore();
// creating environments touches only the store; deleting them is covered end to end
const environments = () => new Environments({ store: temp.store() } as never);

describe('environment names', () => {
  it('turns branches into DNS-label-safe preview names', () => {
    expect(previewName('feature/Login_Page')).toBe('feature-login-page');
    expect(previewName('--Fix--it--')).toBe('fix-it');
    expect(previewName('123-hotfix')).toBe('br-123-hotfix');
    expect(previewName('x')).toMatch(/^x-[0-9a-f]{6}$/);
    const long = previewName(`feature/${'a'.repeat(60)}`);
    expect(long).toMatch(/^feature-a+-[0-9a-f]{6}$/);
    expect(long.length).toBeLessThanOrEqual(30);
    expect(previewName(`feature/${'a'.repeat(60)}b`)).not.toBe(long);
    for (const branch of ['feature/Login_Page', '123', 'ü/ß', `${'z-'.repeat(40)}`]) {
      expect(assertEnvironmentName(previewName(branch))).toBe(previewName(branch));
    }
  });

  it('refuses names that are not DNS labels, naming the value', () => {
    for (const bad of ['Staging', 'a', '-x', 'x-', 'a--b', '1abc', 'x'.repeat(31), 'a_b']) {
      expect(() => assertEnvironmentName(bad)).toThrow(`"${bad}"`);
    }
    expect(assertEnvironmentName('staging-2')).toBe('staging-2');
  });
});

describe('environments', () => {
  it('maps branches: its own branch, else main and master to production', () => {
    const store = temp.store();
    const shop = store.apps.create('shop');
    const envs = environments();
    envs.create(shop, 'staging', 'develop');
    expect(envs.forBranch(shop, 'develop')?.name).toBe('staging');
    expect(envs.forBranch(shop, 'master')?.name).toBe('production');
    expect(envs.forBranch(shop, 'staging')).toBeUndefined();
    expect(() => envs.create(shop, 'qa', 'develop')).toThrow('branch develop already deploys shop (staging)');
  });

  it('refuses an environment whose endpoint another app already answers at', () => {
    const store = temp.store();
    store.apps.create('shop-eu');
    const shop = store.apps.create('shop');
    expect(() => environments().create(shop, 'eu', null)).toThrow(/shop-eu is already the endpoint of shop-eu/);
  });

  it("refuses an app whose name is another app's environment endpoint, in either order", () => {
    const store = temp.store();
    const envs = environments();
    const shop = envs.createApp('shop');
    envs.create(shop, 'staging', 'staging');
    const taken = (name: string, owner: string) => {
      expect(() => envs.createApp(name)).toThrow(`is already the endpoint of ${owner}`);
      expect(() => envs.createApp(name)).toThrow(expect.objectContaining({ code: 'ENDPOINT_TAKEN', status: 409 }));
    };
    taken('shop-staging', 'shop (staging)');
    taken('shop-production', 'shop (production)');
    expect(store.apps.get('shop-staging')).toBeUndefined();
    // the other order: the app first, then the app whose endpoints it holds
    envs.createApp('blog-production');
    taken('blog', 'blog-production (production)');
    envs.createApp('news-qa');
    expect(() => envs.create(envs.createApp('news'), 'qa', null)).toThrow(/news-qa is already the endpoint of news-qa/);
    expect(() => envs.createApp('shop')).toThrow(expect.objectContaining({ code: 'APP_EXISTS' }));
  });

  it("makes a preview as a copy of production's config, reuses it, and refuses names other environments hold", () => {
    const store = temp.store();
    const shop = store.apps.create('shop');
    store.config.replace(store.apps.environment('shop', 'production')!.id, { GREETING: 'hi' });
    const envs = environments();
    const first = envs.preview(shop, 'feature-x', 'feature/x');
    expect(first.created).toBe(true);
    expect(first.env).toMatchObject({ name: 'feature-x', branch: 'feature/x', preview: true });
    expect(store.config.get(first.env.id)).toEqual({ GREETING: 'hi' });
    store.config.replace(first.env.id, { GREETING: 'preview' });
    expect(envs.preview(shop, 'feature-x', 'feature/x')).toEqual({ env: first.env, created: false });
    expect(store.config.get(first.env.id)).toEqual({ GREETING: 'preview' });
    expect(() => envs.preview(shop, 'feature-x', 'feature-x')).toThrow(/the preview of feature\/x/);
    envs.create(shop, 'staging', 'staging');
    expect(() => envs.preview(shop, 'staging', 'Staging')).toThrow(
      /would replace an environment of shop named "staging"/,
    );
  });

  it('deletes an environment with everything keyed by it', () => {
    const store = temp.store();
    const shop = store.apps.create('shop');
    const env = environments().create(shop, 'staging', 'staging');
    store.config.replace(env.id, { A: 'b' });
    const build = store.builds.create(env.id, 'a'.repeat(40));
    const release = store.releases.create({
      environmentId: env.id,
      buildId: build.id,
      image: 'img',
      processes: {},
      config: { A: 'b' },
      manifest: {},
      description: 'd',
    });
    store.placements.set({ environmentId: env.id, rack: 'local-a', releaseId: release.id, instances: [] });
    store.apps.deleteEnvironment(env.id);
    expect(store.apps.environments(shop.id).map((e) => e.name)).toEqual(['production']);
    expect(store.config.get(env.id)).toEqual({});
    expect(store.builds.get(build.id)).toBeUndefined();
    expect(store.placements.all()).toEqual([]);
  });
});
