import { describe, expect, it } from 'vitest';
import { ApiError, forPeople } from '../../../../cli/errors.ts';
import { fakeCli } from '../fake-context.ts';

const REMOTE = { gitRemote: 'http://127.0.0.1:1/shop.git' };
const release = (version: number, status: string) => ({
  version,
  status,
  description: `Deploy ${version}`,
  image: `wm/shop:${version}`,
  buildId: version,
  configKeys: ['GREETING'],
  error: null,
  createdAt: '2026-01-01T00:00:00Z',
});

describe('the verbs a Heroku user types', () => {
  it('config:get prints one value, and an empty line for an unset one', async () => {
    const answers = { 'GET /api/apps/shop/config': { environment: 'production', vars: { GREETING: 'hi there' } } };
    const cli = fakeCli(answers, REMOTE);
    expect(await cli.run('config:get', 'GREETING')).toBe(0);
    expect(await cli.run('config:get', 'MISSING')).toBe(0);
    expect(cli.stdout()).toBe('hi there\n\n');
  });

  it('releases:info shows the current release, or the one named', async () => {
    const answers = {
      'GET /api/apps/shop/releases': [release(3, 'failed'), release(2, 'succeeded'), release(1, 'succeeded')],
    };
    const current = fakeCli(answers, REMOTE);
    expect(await current.run('releases:info')).toBe(0);
    expect(current.stdout()).toContain('=== Release v2');
    expect(current.stdout()).toContain('config vars: GREETING');
    const named = fakeCli(answers, REMOTE);
    expect(await named.run('releases:info', 'v1', '--json')).toBe(0);
    expect(JSON.parse(named.stdout())).toMatchObject({ version: 1 });
    expect(await named.run('releases:info', 'v9')).toBe(1);
  });

  it('maintenance says whether it is on', async () => {
    const cli = fakeCli({ 'GET /api/apps/shop/maintenance?environment=staging': { enabled: true } }, REMOTE);
    expect(await cli.run('maintenance', '-e', 'staging')).toBe(0);
    expect(cli.stdout()).toBe('maintenance on for staging\n');
  });

  it('domains:clear removes every domain', async () => {
    const domain = (name: string) => ({ name, certificate: { state: 'none' }, createdAt: '' });
    const cli = fakeCli(
      {
        'GET /api/apps/shop/domains': [domain('a.example.com'), domain('b.example.com')],
        'DELETE /api/apps/shop/domains/a.example.com': { deleted: 'a.example.com' },
        'DELETE /api/apps/shop/domains/b.example.com': { deleted: 'b.example.com' },
      },
      REMOTE,
    );
    expect(await cli.run('domains:clear')).toBe(0);
    expect(cli.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    expect(cli.stdout()).toBe('Removed a.example.com, b.example.com\n');
  });

  it('apps:destroy takes the app from the git remote, still asking for confirmation', async () => {
    const cli = fakeCli({ 'DELETE /api/apps/shop': { deleted: 'shop' } }, REMOTE);
    expect(await cli.run('apps:destroy')).toBe(2);
    expect(cli.stderr()).toContain('--confirm shop');
    expect(await cli.run('apps:destroy', '--confirm', 'shop')).toBe(0);
    expect(cli.stdout()).toBe('Destroyed shop\n');
  });

  it('whoami names the token; logout forgets the login', async () => {
    const cli = fakeCli({ 'GET /api/whoami': { name: 'admin', via: 'token' } });
    expect(await cli.run('whoami')).toBe(0);
    expect(cli.stdout()).toBe('admin (token) on http://127.0.0.1:1\n');
    cli.ctx.settings.save({ url: 'http://127.0.0.1:2', token: 'wm_x' });
    expect(await cli.run('logout')).toBe(0);
    expect(await cli.run('logout')).toBe(0);
    expect(cli.stdout()).toContain('Logged out (removed /nowhere/config.json)\nNot logged in\n');
  });

  it('--version prints the version', async () => {
    const cli = fakeCli();
    expect(await cli.run('--version')).toBe(0);
    expect(cli.stdout()).toMatch(/^widemesh\/\d+\.\d+\.\d+ \S+ node-v\d+/);
  });

  it('open prints the URL where there is no browser', async () => {
    const app = { name: 'shop', environments: [{ name: 'production', url: 'http://shop.localhost:7080/' }] };
    const cli = fakeCli({ 'GET /api/apps/shop': app }, REMOTE);
    expect(await cli.run('open')).toBe(0);
    expect(cli.stdout()).toBe('http://shop.localhost:7080/\n');
  });

  it('puts API request shapes in CLI words', () => {
    const shaped = new ApiError('send {"name": "www.example.com"}: a host name with a dot', 'INVALID_DOMAIN', 400);
    expect(forPeople(shaped)).toBe('give a host name with a dot, e.g. www.example.com');
    expect(forPeople(new ApiError('there is no app named "x"', 'APP_NOT_FOUND'))).toBe('there is no app named "x"');
  });
});
