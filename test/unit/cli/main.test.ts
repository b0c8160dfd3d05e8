import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/main.ts';
import { fakeCli } from './fake-context.ts';

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
