import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DetectContext, detect, type NodePlan } from '../../buildpacks/index.ts';
import { installSecretFiles } from '../../server/images/install-secrets.ts';
import { lineLog } from '../../server/logs/index.ts';
import { fixtureTree } from '../helpers/fixture-tree.ts';
import { FIXTURES } from '../helpers/git.ts';

const ctx: DetectContext = {
  nodeStacks: [
    { image: 'widemesh/stack-node:20', nodeVersion: '20.20.2' },
    { image: 'widemesh/stack-node:22', nodeVersion: '22.23.3' },
  ],
  publishedNodeVersions: ['0.12.18', '4.0.0', '4.9.1', '6.17.1', '7.10.1', '8.0.0', '8.17.0', '10.24.1', '22.23.3'],
};
const plan = (name: string, overrides?: Record<string, string | null>) =>
  detect(fixtureTree(path.join(FIXTURES, name), overrides), ctx) as NodePlan;

describe('Node buildpack plans', () => {
  it('gives an old Node the npm it shipped with, and that npm the flags it knows', () => {
    expect(plan('node-4-lockfile')).toMatchObject({
      installNode: { node: '4.9.1', npm: '2.15.12' },
      install: ['npm install --production'],
    });
    expect(plan('node-8-lockfile')).toMatchObject({
      installNode: { node: '8.17.0', npm: '6.13.4' },
      install: ['npm ci --production'],
    });
    const pinned = plan('node-8-lockfile', {
      'package.json': JSON.stringify({ engines: { node: '8.x', npm: '5.10.0' }, dependencies: { ms: '^2.0.0' } }),
    });
    expect(pinned.installNode).toEqual({ node: '8.17.0', npm: '5.10.0' });
    expect(pinned.globalInstalls).toEqual([]);
  });

  it('runs a checked-in yarn release, offline when the cache is committed', () => {
    const zero = plan('node-yarn4-zero-install');
    expect(zero.globalInstalls).toEqual(['yarn@1.22.22']);
    expect(zero.manifestFiles).toContain('.yarn/');
    expect(zero.install).toEqual(['YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_NETWORK=0 yarn install --immutable']);
    expect(zero.summary).toContain("yarn 4.5.3 (checked-in release, Plug'n'Play)");
    expect(zero.processes.web).toBe('yarn node index.js');
    const fetched = plan('node-yarn4-pnp', { '.yarn/releases/yarn-4.5.3.cjs': null, '.yarnrc.yml': '' });
    expect(fetched.globalInstalls).toEqual(['@yarnpkg/cli-dist@4.5.3']);
    const withDevDependencies = JSON.stringify({ packageManager: 'yarn@3.8.7', devDependencies: { ms: '2.1.3' } });
    expect(plan('node-yarn3-pnp', { 'package.json': withDevDependencies }).summary).toContain(
      'devDependencies kept: yarn 3.8.7 prunes only with the workspace-tools plugin',
    );
    expect(plan('node-yarn3-pnp').summary.join('\n')).not.toContain('devDependencies kept');
  });

  it('puts every workspace manifest in the dependency layer, for npm, yarn and pnpm', () => {
    for (const name of ['node-workspaces-npm', 'node-workspaces-yarn', 'node-workspaces-pnpm']) {
      expect(plan(name).manifestFiles).toEqual(
        expect.arrayContaining(['package.json', 'packages/greeting/package.json', 'packages/web/package.json']),
      );
    }
    expect(() => plan('node-workspaces-npm', { 'packages/web/package.json': '{ "name": ' })).toThrow(
      /packages\/web\/package\.json is not valid JSON/,
    );
  });

  it("follows Heroku's script order and copies the source before an install that runs scripts", () => {
    const p = plan('node-heroku-scripts');
    expect(p.manifestFiles).toEqual([]);
    expect(p.install).toEqual(['npm run heroku-prebuild', 'npm ci']);
    expect(p.build).toEqual(['npm run heroku-postbuild', 'npm prune --omit=dev', 'npm run heroku-cleanup']);
  });

  it('installs the yarn or pnpm that engines or packageManager name', () => {
    const engines = (engines: Record<string, string>) => JSON.stringify({ engines });
    expect(plan('node-yarn', { 'package.json': engines({ yarn: '1.22.19' }) }).globalInstalls).toEqual([
      'yarn@1.22.19',
    ]);
    expect(plan('node-pnpm', { 'package.json': engines({ pnpm: '8.x' }) }).globalInstalls).toEqual(['pnpm@8.x']);
    expect(plan('node-pnpm8').globalInstalls).toEqual(['pnpm@8.15.9']);
  });

  it('says which lockfile it ignores when there are several', () => {
    expect(plan('node-yarn', { 'package-lock.json': '{}' }).summary).toContain(
      'package-lock.json ignored: yarn installs (delete what it does not use)',
    );
  });

  it('rewrites a foreign registry host in yarn.lock to the configured registry', () => {
    const [rewrite] = plan('node-yarn1-foreign-registry').install;
    expect(rewrite).toContain('(?:npm\\.corp\\.example)');
    expect(rewrite).toContain('yarn config get registry');
  });

  it('names the config vars .npmrc expands and writes only those to the install secrets file', () => {
    const p = plan('node-npmrc-token');
    expect(p.installSecrets).toEqual(['NPM_TOKEN']);
    expect(installSecretFiles(p, { NPM_TOKEN: "it's", OTHER: 'x' })).toEqual({
      '.widemesh/install-secrets.sh': "export NPM_TOKEN='it'\\''s'\n",
    });
    expect(() => installSecretFiles(p, {})).toThrow(/\.npmrc reads \$\{NPM_TOKEN\}/);
  });
});

describe('build log lines', () => {
  it('carry no terminal control sequences', () => {
    const lines: string[] = [];
    const log = lineLog((l) => lines.push(l));
    log.info('\x1b[91mnpm error\x1b[0m code E404\x1b]0;title\x07');
    log.info('\x1b[0m');
    expect(lines).toEqual(['       npm error code E404']);
  });
});
