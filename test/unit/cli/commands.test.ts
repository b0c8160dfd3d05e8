import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/main.ts';
import { fakeCli } from './fake-context.ts';

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

describe('the command table', () => {
  const commands = buildProgram(fakeCli().ctx).commands.filter((c) => c.name() !== 'git-credential');
  const names = commands.map((c) => c.name());
  const flags = (c: Command) => c.options.map((o) => o.long);

  it('has every command the CLI had, each with a description and a help line', async () => {
    expect(names).toEqual(
      expect.arrayContaining(
        ['login', 'apps', 'apps:create', 'apps:info', 'apps:destroy', 'config', 'config:set', 'config:unset'].concat(
          ['releases', 'rollback', 'builds', 'logs', 'open', 'repo:connect', 'repo:info', 'repo:disconnect'],
          ['deliveries', 'providers', 'providers:set', 'racks', 'racks:set'],
        ),
      ),
    );
    const cli = fakeCli();
    expect(await cli.run('help')).toBe(0);
    for (const command of commands) {
      expect(command.description(), command.name()).not.toBe('');
      expect(cli.stdout()).toMatch(new RegExp(`^  ${command.name()} `, 'm'));
    }
    expect(cli.stdout()).not.toContain('git-credential');
  });

  it('gives every read --json, and every command that acts on an app -a (and -e where environments differ)', () => {
    const reads = [
      'apps',
      'apps:info',
      'config',
      'releases',
      'builds',
      'repo:info',
      'deliveries',
      'providers',
      'racks',
    ];
    for (const name of reads) expect(flags(commands.find((c) => c.name() === name)!), name).toContain('--json');
    const perEnvironment = ['apps:info', 'config', 'config:set', 'config:unset', 'releases', 'rollback', 'builds'];
    for (const name of [...perEnvironment, 'logs', 'open', 'racks', 'racks:set']) {
      expect(flags(commands.find((c) => c.name() === name)!), name).toEqual(
        expect.arrayContaining(['--app', '--environment']),
      );
    }
    for (const name of ['repo:connect', 'repo:info', 'repo:disconnect', 'deliveries', 'apps:destroy'])
      expect(flags(commands.find((c) => c.name() === name)!), name).toContain('--app');
  });

  it("shows one command's help with `help CMD` and `CMD --help`, exit code 0", async () => {
    const viaHelp = fakeCli();
    expect(await viaHelp.run('help', 'config:set')).toBe(0);
    expect(viaHelp.stdout()).toContain('Usage: widemesh config:set [options] <KEY=VALUE...>');
    const viaFlag = fakeCli();
    expect(await viaFlag.run('config:set', '--help')).toBe(0);
    expect(viaFlag.stdout()).toBe(viaHelp.stdout());
  });

  it('answers bad usage with exit code 2 and no request', async () => {
    for (const argv of [
      ['frobnicate'],
      ['config:set'],
      ['config:set', 'NOEQUALS', '-a', 'shop'],
      ['apps', '--tail'],
      ['apps', 'extra'],
      ['logs', '-a', 'shop', '--source', 'everything'],
      ['logs', '-a', 'shop', '--build', 'latest'],
      ['rollback', 'vx', '-a', 'shop'],
      ['apps:destroy', 'shop'],
      ['apps:destroy', 'shop', '--confirm', 'other'],
      ['racks:set', 'gcp:cloud-run', '-a', 'shop'],
      ['repo:connect', '--url', 'https://x.test/a.git', '-a', 'shop'],
      ['login'],
    ]) {
      const cli = fakeCli();
      expect(await cli.run(...argv), argv.join(' ')).toBe(2);
      expect(cli.requests, argv.join(' ')).toEqual([]);
      expect(cli.stderr()).not.toBe('');
    }
  });

  it('needs to know the app: -a, else the `widemesh` git remote, else a usage error', async () => {
    const answers = { 'GET /api/apps/shop/releases': [], 'GET /api/apps/fromremote/releases': [] };
    const withFlag = fakeCli(answers);
    expect(await withFlag.run('releases', '-a', 'shop')).toBe(0);
    const fromRemote = fakeCli(answers, { gitRemote: 'http://127.0.0.1:7070/fromremote.git' });
    expect(await fromRemote.run('releases')).toBe(0);
    expect([...withFlag.requests, ...fromRemote.requests].map((r) => r.route)).toEqual([
      '/api/apps/shop/releases',
      '/api/apps/fromremote/releases',
    ]);
    const neither = fakeCli(answers);
    expect(await neither.run('releases')).toBe(2);
    expect(neither.stderr()).toContain('pass -a APP');
  });
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
        { kind: 'local', name: 'local-a' },
      ],
      rollout: 'parallel',
    });
  });

  it('repo:connect takes the read token from stdin, branches from repeated --branch', async () => {
    const connected = { provider: 'github', cloneUrl: 'https://x.test/a.git', branches: {}, private: true };
    const cli = fakeCli(
      { 'PUT /api/apps/shop/repository': { ...connected, webhookUrl: 'http://w.test/h', secret: 'abc' } },
      { stdin: 'tok-123\n' },
    );
    const argv = ['repo:connect', '--provider', 'github', '--url', 'https://x.test/a.git', '-a', 'shop'];
    expect(await cli.run(...argv, '--branch', 'main=production', '--branch', 'dev=staging', '--username', 'bot')).toBe(
      0,
    );
    expect(cli.requests[0]!.body).toEqual({
      provider: 'github',
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
