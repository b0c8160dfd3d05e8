import { describe, expect, it } from 'vitest';
import { appInfoText } from '../../../../cli/commands/apps.ts';
import { parseAssignments } from '../../../../cli/commands/config.ts';
import { logRequest } from '../../../../cli/commands/logs.ts';
import { parseRack } from '../../../../cli/commands/providers.ts';
import { parseVersion } from '../../../../cli/commands/releases.ts';
import { parseBranches } from '../../../../cli/commands/repo.ts';
import { UsageError } from '../../../../cli/errors.ts';
import { fakeCli } from '../fake-context.ts';

const release = (version: number, status = 'succeeded') => ({
  version,
  status,
  description: `release ${version}`,
  image: 'x',
  buildId: null,
  configKeys: [],
  error: null,
  createdAt: '2026-01-01T00:00:00Z',
});

describe('commands make the API requests their arguments say', () => {
  it('config:set and config:unset send one PATCH for the environment', async () => {
    const route = '/api/apps/shop/config?environment=staging';
    const cli = fakeCli({ [`PATCH ${route}`]: { environment: 'staging', vars: {}, release: release(4), log: [] } });
    expect(await cli.run('config:set', 'A=1', 'B=x=y', '-a', 'shop', '-e', 'staging')).toBe(0);
    expect(await cli.run('config:unset', 'A', 'B', '--app', 'shop', '--environment', 'staging')).toBe(0);
    expect(cli.requests).toEqual([
      { method: 'PATCH', route, body: { A: '1', B: 'x=y' } },
      { method: 'PATCH', route, body: { A: null, B: null } },
    ]);
    expect(cli.stdout()).toBe('Set A, B and restarted: v4\nUnset A, B and restarted: v4\n');
  });

  it('rollback goes to the release before the current one that succeeded, or to the one named', async () => {
    const releases = [release(5), release(4, 'failed'), release(3), release(2)];
    const cli = fakeCli({
      'GET /api/apps/shop/releases': releases,
      'POST /api/apps/shop/rollback': { release: release(6), log: [] },
    });
    expect(await cli.run('rollback', '-a', 'shop')).toBe(0);
    expect(await cli.run('rollback', 'v2', '-a', 'shop')).toBe(0);
    expect(cli.requests.filter((r) => r.method === 'POST').map((r) => r.body)).toEqual([
      { version: 3 },
      { version: 2 },
    ]);
    expect(cli.stdout()).toBe('Rolled back to v3: now v6\nRolled back to v2: now v6\n');
  });

  it("releases:output shows a release's release phase output, the newest release's by default", async () => {
    const cli = fakeCli({
      'GET /api/apps/shop/releases': [release(5), release(4)],
      'GET /api/apps/shop/releases/5/output': { version: 5, status: 'failed', lines: ['-----> Running', ' !     no'] },
      'GET /api/apps/shop/releases/4/output': { version: 4, status: 'succeeded', lines: null },
    });
    expect(await cli.run('releases:output', '-a', 'shop')).toBe(0);
    expect(await cli.run('releases:output', 'v4', '-a', 'shop')).toBe(0);
    expect(cli.stdout()).toBe(
      'Release phase output of v5 (failed):\n-----> Running\n !     no\nv4 ran no release phase\n',
    );
    expect(cli.requests.map((r) => r.route)).toEqual([
      '/api/apps/shop/releases',
      '/api/apps/shop/releases/5/output',
      '/api/apps/shop/releases/4/output',
    ]);
  });

  it('racks names the racks and what a local instance may write to disk', async () => {
    const cli = fakeCli({
      'GET /api/apps/shop/racks': {
        environment: 'production',
        racks: [{ name: 'local-a' }, { name: 'local-b' }],
        rollout: 'parallel',
        custom: false,
        instanceDisk: 'an instance may write at most 64 MiB (WIDEMESH_INSTANCE_DISK_MB; btrfs quota)',
      },
    });
    expect(await cli.run('racks', '-a', 'shop')).toBe(0);
    expect(cli.stdout()).toBe(
      'local-a, local-b (parallel, server default)\n' +
        "local instances' disk: an instance may write at most 64 MiB (WIDEMESH_INSTANCE_DISK_MB; btrfs quota)\n",
    );
  });

  it('racks:set turns rack names into rack objects', async () => {
    const cli = fakeCli({
      'PUT /api/apps/shop/racks': {
        environment: 'production',
        racks: [{ name: 'europe-west1' }, { name: 'us-east-1' }, { name: 'local-a' }],
        rollout: 'parallel',
        note: 'takes effect with the next release',
      },
    });
    expect(
      await cli.run(
        'racks:set',
        'gcp:cloud-run:europe-west1',
        'aws:app-runner:us-east-1',
        'aws:ecs-express:eu-west-1',
        'local-a',
        '--parallel',
        '-a',
        'shop',
      ),
    ).toBe(0);
    expect(cli.requests[0]!.body).toEqual({
      racks: [
        { kind: 'cloud-run', provider: 'gcp', location: 'europe-west1' },
        { kind: 'app-runner', provider: 'aws', region: 'us-east-1' },
        { kind: 'ecs-express', provider: 'aws', region: 'eu-west-1' },
        { kind: 'local', name: 'local-a' },
      ],
      rollout: 'parallel',
    });
  });

  it('repo:connect takes the read token from stdin, branches from repeated --branch', async () => {
    const connected = { host: 'github', cloneUrl: 'https://x.test/a.git', branches: {}, private: true };
    const cli = fakeCli(
      { 'PUT /api/apps/shop/repository': { ...connected, webhookUrl: 'http://w.test/h', secret: 'abc' } },
      { stdin: 'tok-123\n' },
    );
    const argv = ['repo:connect', '--provider', 'github', '--url', 'https://x.test/a.git', '-a', 'shop'];
    expect(await cli.run(...argv, '--branch', 'main=production', '--branch', 'dev=staging', '--username', 'bot')).toBe(
      0,
    );
    expect(cli.requests[0]!.body).toEqual({
      host: 'github',
      cloneUrl: 'https://x.test/a.git',
      branches: { main: 'production', dev: 'staging' },
      username: 'bot',
      password: 'tok-123',
    });
    expect(cli.stdout()).toContain('secret: abc   (shown once)');
  });

  it('login checks the token against the server before saving it; a refused token is not saved', async () => {
    const ok = fakeCli({ 'GET /api/apps': [] }, { stdin: ' wm_fromstdin\n' });
    expect(await ok.run('login', '--url', 'http://127.0.0.1:7070/')).toBe(0);
    expect(ok.saved).toEqual([{ url: 'http://127.0.0.1:7070', token: 'wm_fromstdin' }]);
    const refused = fakeCli({}, { stdin: 'wm_wrong' });
    expect(await refused.run('login', '--url', 'http://127.0.0.1:7070')).toBe(1);
    expect(refused.saved).toEqual([]);
  });

  it("server errors exit 1 with the server's message", async () => {
    const cli = fakeCli();
    expect(await cli.run('apps:info', '-a', 'nope')).toBe(1);
    expect(cli.stderr()).toBe(' !    the fake server has no GET /api/apps/nope\n');
  });

  it('git-credential answers `get` with the saved token for the saved server only', async () => {
    const ours = fakeCli({}, { stdin: 'protocol=http\nhost=127.0.0.1:1\n' });
    expect(await ours.run('git-credential', 'get')).toBe(0);
    expect(ours.stdout()).toBe('username=widemesh\npassword=wm_test\n');
    const theirs = fakeCli({}, { stdin: 'protocol=https\nhost=github.com\n' });
    expect(await theirs.run('git-credential', 'get')).toBe(0);
    expect(theirs.stdout()).toBe('');
  });
});

describe('argument parsing', () => {
  it('reads KEY=VALUE, BRANCH=ENV, rack names and versions, refusing malformed ones', () => {
    expect(parseAssignments(['A=1', 'B=', 'C=x=y'])).toEqual({ A: '1', B: '', C: 'x=y' });
    expect(() => parseAssignments(['=1'])).toThrow(UsageError);
    expect(parseBranches(['main=production'])).toEqual({ main: 'production' });
    expect(() => parseBranches(['main'])).toThrow(UsageError);
    expect(() => parseBranches(['a=b=c'])).toThrow(UsageError);
    expect(parseRack('local-b')).toEqual({ kind: 'local', name: 'local-b' });
    expect(parseRack('eu:swarm')).toEqual({ kind: 'swarm', provider: 'eu' });
    expect(() => parseRack('eu:swarm:x')).toThrow(UsageError);
    expect(() => parseRack('gcp:lambda:x')).toThrow(UsageError);
    expect(() => parseRack('gcp:cloud-run:x:y')).toThrow(UsageError);
    expect(parseVersion('v12')).toBe(12);
    expect(parseVersion('3')).toBe(3);
    for (const bad of ['v0', 'v1.5', 'latest']) expect(() => parseVersion(bad)).toThrow(UsageError);
  });

  it("asks for the latest build's log by default, the app's output when tailing", () => {
    expect(logRequest('shop', {})).toEqual({ app: 'shop', source: 'build', tail: false });
    expect(logRequest('shop', { tail: true, environment: 'staging' })).toEqual({
      app: 'shop',
      environment: 'staging',
      source: 'app',
      tail: true,
    });
    expect(logRequest('shop', { tail: true, source: 'build', build: '12' })).toMatchObject({
      source: 'build',
      build: 12,
    });
    expect(() => logRequest('shop', { build: '0' })).toThrow(UsageError);
  });
});

describe('what commands show', () => {
  it('shows an app with its environments and racks', () => {
    const text = appInfoText({
      name: 'shop',
      environments: [
        {
          name: 'production',
          branch: null,
          url: 'http://shop.localhost',
          release: 2,
          status: 'live',
          deployedAt: '2026-11-25T04:00:00.000Z',
          lastBuild: null,
          racks: [
            { rack: 'local-a', release: 2, instances: 1 },
            { rack: 'local-b', release: 1, instances: 1 },
          ],
        },
        {
          name: 'staging',
          branch: 'dev',
          url: 'http://shop-staging.localhost',
          release: null,
          status: 'new',
          deployedAt: null,
          lastBuild: null,
          racks: [],
        },
      ],
    });
    expect(text).toBe(
      [
        '=== shop',
        'NAME        RELEASE  URL                            RACKS',
        'production  v2       http://shop.localhost          local-a(v2) local-b(v1)',
        'staging     -        http://shop-staging.localhost',
      ].join('\n'),
    );
  });
});
