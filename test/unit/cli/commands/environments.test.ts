import { describe, expect, it } from 'vitest';
import { fakeCli } from '../fake-context.ts';

const env = {
  name: 'staging',
  branch: 'staging',
  preview: false,
  url: 'http://shop-staging.localhost:7080/',
  release: null,
  racks: [],
};

describe('environment commands', () => {
  it('envs:create sends the name and branch; --no-branch sends none', async () => {
    const cli = fakeCli({ 'POST /api/apps/shop/environments': env });
    expect(await cli.run('envs:create', 'staging', '-a', 'shop')).toBe(0);
    expect(await cli.run('envs:create', 'qa', '--no-branch', '-a', 'shop')).toBe(0);
    expect(await cli.run('envs:create', 'qa', '--branch', 'develop', '-a', 'shop')).toBe(0);
    expect(cli.requests.map((r) => r.body)).toEqual([
      { name: 'staging' },
      { name: 'qa', branch: null },
      { name: 'qa', branch: 'develop' },
    ]);
    expect(cli.stdout()).toContain(
      'Created staging (deployed by pushing staging): http://shop-staging.localhost:7080/',
    );
  });

  it('envs:destroy needs the name confirmed, and sends nothing otherwise', async () => {
    const cli = fakeCli({ 'DELETE /api/apps/shop/environments/staging': { deleted: 'staging' } });
    expect(await cli.run('envs:destroy', 'staging', '-a', 'shop')).toBe(2);
    expect(cli.requests).toEqual([]);
    expect(await cli.run('envs:destroy', 'staging', '--confirm', 'staging', '-a', 'shop')).toBe(0);
    expect(cli.requests).toEqual([{ method: 'DELETE', route: '/api/apps/shop/environments/staging' }]);
  });

  it('releases:promote goes to production unless told', async () => {
    const release = {
      version: 7,
      status: 'succeeded',
      description: 'Promote staging v3',
      image: 'x',
      buildId: null,
      configKeys: [],
      error: null,
      createdAt: '',
    };
    const cli = fakeCli({ 'POST /api/apps/shop/promote': { environment: 'production', release, log: [] } });
    expect(await cli.run('releases:promote', 'staging', '-a', 'shop')).toBe(0);
    expect(cli.requests[0]?.body).toEqual({ from: 'staging', to: 'production' });
    expect(cli.stdout()).toBe('Promoted staging to production: now v7\n');
  });

  it('previews:on and previews:off set the app setting', async () => {
    const cli = fakeCli({ 'PATCH /api/apps/shop': { name: 'shop', previews: true } });
    expect(await cli.run('previews:on', '-a', 'shop')).toBe(0);
    expect(cli.requests[0]).toEqual({ method: 'PATCH', route: '/api/apps/shop', body: { previews: true } });
  });
});
