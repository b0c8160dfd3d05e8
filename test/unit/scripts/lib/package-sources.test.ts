import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const LIB = path.resolve(import.meta.dirname, '../../../../scripts/lib/package-sources.sh');

/** Runs a snippet of bash with the library sourced, as build-stacks does (set -euo pipefail). */
function bash(script: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('WIDEMESH_APT') && k.toLowerCase() !== 'npm_config_registry',
    ),
  );
  const result = spawnSync('bash', ['-c', `set -euo pipefail; source '${LIB}'; ${script}`], {
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

describe('package sources of the stack build', () => {
  let apt: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(apt, file)), { recursive: true });
    fs.writeFileSync(path.join(apt, file), text);
  };
  beforeEach(() => {
    apt = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-apt-'));
    fs.mkdirSync(path.join(apt, 'sources.list.d'));
  });
  afterEach(() => fs.rmSync(apt, { recursive: true, force: true }));

  it('reads deb822 .sources files, skipping disabled stanzas, deb-src and comments', () => {
    write(
      'sources.list.d/debian.sources',
      [
        'Types: deb-src',
        'URIs: http://src.mirror.test/debian',
        'Suites: bookworm',
        '',
        'Types: deb',
        'URIs: http://off.mirror.test/debian',
        'Suites: bookworm',
        'Enabled: no',
        '',
        'Types: deb deb-src',
        '# URIs: http://commented.mirror.test/debian',
        'URIs: http://apt.mirror.test/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        '',
        'Types: deb',
        'URIs: http://apt.mirror.test/debian-security',
        'Suites: bookworm-security',
        '',
      ].join('\n'),
    );
    expect(bash(`apt_mirror_for bookworm '${apt}'`).stdout).toBe('http://apt.mirror.test/debian');
    expect(bash(`apt_mirror_for bookworm-security '${apt}'`).stdout).toBe('http://apt.mirror.test/debian-security');
    expect(bash(`apt_mirror_for trixie '${apt}'`)).toMatchObject({ code: 0, stdout: '' });
  });

  it('reads one-line sources.list and *.list files, options in brackets included', () => {
    write(
      'sources.list',
      '# deb http://old.mirror.test/debian bookworm main\ndeb-src http://src.mirror.test bookworm main\n',
    );
    write(
      'sources.list.d/local.list',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://list.mirror.test/debian bookworm main\n',
    );
    write('sources.list.d/ignored.list.disabled', 'deb http://disabled.mirror.test/debian bookworm main\n');
    expect(bash(`apt_mirror_for bookworm '${apt}'`).stdout).toBe('http://list.mirror.test/debian');
  });

  it('prefers WIDEMESH_APT_MIRROR and WIDEMESH_APT_SECURITY_MIRROR; none leaves out the security archive', () => {
    write('sources.list', 'deb http://list.mirror.test/debian bookworm main\n');
    const env = { WIDEMESH_APT_MIRROR: 'http://set.mirror.test/debian', WIDEMESH_APT_SECURITY_MIRROR: 'none' };
    const result = bash(`stack_apt_mirrors bookworm '${apt}'; echo "$mirror|$security"`, env);
    expect(result.stdout).toBe('http://set.mirror.test/debian|');
  });

  it('fails naming the setting when the machine has no source for the suite', () => {
    const none = bash(`stack_apt_mirrors bookworm '${apt}'`);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('set WIDEMESH_APT_MIRROR');
    write('sources.list', 'deb http://list.mirror.test/debian bookworm main\n');
    const noSecurity = bash(`stack_apt_mirrors bookworm '${apt}'`);
    expect(noSecurity.code).toBe(1);
    expect(noSecurity.stderr).toContain('set WIDEMESH_APT_SECURITY_MIRROR');
  });

  it("takes the npm registry from npm's own configuration, and fails when there is none", () => {
    expect(bash('npm_registry', { NPM_CONFIG_REGISTRY: 'http://npm.mirror.test/' }).stdout).toBe(
      'http://npm.mirror.test/',
    );
    const bin = path.join(apt, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'npm'), '#!/bin/sh\necho undefined\n', { mode: 0o755 });
    const missing = bash('npm_registry', { PATH: `${bin}:${process.env.PATH}` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('npm config set registry');
  });
});
