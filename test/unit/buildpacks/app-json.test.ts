import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChecks, readAppManifest } from '../../../buildpacks/app-json.ts';
import { fixtureTree } from '../../helpers/fixture-tree.ts';
import { FIXTURES } from '../../helpers/git.ts';

const manifest = (files: Record<string, string>) => readAppManifest(fixtureTree(path.join(FIXTURES, 'empty'), files));

describe('app.json', () => {
  it('is optional', () => {
    expect(manifest({})).toEqual({ formation: {}, resources: {}, healthchecks: {}, env: {}, scripts: {} });
  });

  it('reads formation, Dokku health checks, env and scripts', () => {
    const appJson = {
      formation: { web: { quantity: 0 }, worker: { quantity: 2, memory: 1024, cpus: 0.5 } },
      healthchecks: { web: [{ type: 'startup', path: '/health', content: 'ok', attempts: 2, timeout: 3 }] },
      env: {
        GREETING: 'hi',
        SECRET_KEY: { generator: 'secret' },
        DATABASE_URL: { required: true },
        OPTIONAL: { required: false },
      },
      scripts: { dokku: { predeploy: 'make assets', postdeploy: 'notify' }, postdeploy: 'seed' },
    };
    expect(manifest({ 'app.json': JSON.stringify(appJson) })).toEqual({
      formation: { web: 0, worker: 2 },
      resources: { worker: { memoryMb: 1024, cpus: 0.5 } },
      healthchecks: {
        web: [{ path: '/health', content: 'ok', initialDelay: 0, timeout: 3, attempts: 2, wait: 1, uptime: 0 }],
      },
      env: {
        GREETING: { value: 'hi', required: false },
        SECRET_KEY: { required: false, generator: 'secret' },
        DATABASE_URL: { required: true },
        OPTIONAL: { required: false },
      },
      scripts: { predeploy: 'make assets', postdeploy: 'notify', firstDeploy: 'seed' },
    });
  });

  it('accepts comments and trailing commas, as Dokku does', () => {
    const tree = fixtureTree(path.join(FIXTURES, 'app-json-comments'));
    expect(readAppManifest(tree)).toMatchObject({
      formation: { web: 1, worker: 2 },
      env: { GREETING: { value: 'hello', required: false } },
    });
  });

  it.each([
    ['{ "formation": ', /app.json: not valid JSON: value expected at line 1, column 16/],
    ['{\n  "a": 1\n  "b": 2\n}', /app.json: not valid JSON: comma expected at line 3, column 3/],
    ['{\n  "a": [1,, 2]\n}', /app.json: not valid JSON: value expected at line 2, column 11/],
    ['[]', /app.json: must be a JSON object/],
    [
      '{"formation": {"web": {"quantity": "2"}}}',
      /app.json formation.web.quantity: must be a whole number from 0 to 20, got "2"/,
    ],
    [
      '{"formation": {"web": {"quantity": 500}}}',
      /formation.web.quantity: must be a whole number from 0 to 20, got 500/,
    ],
    [
      '{"formation": {"web": {"memory": 8}}}',
      /formation.web.memory \(MiB\): must be a whole number from 32 to 65536, got 8/,
    ],
    ['{"formation": {"__proto__": {"quantity": 1}}}', /app.json formation.__proto__: is not a process type name/],
    ['{"formation": {"web": {"cpus": "two"}}}', /formation.web.cpus: must be a number from 0.05 to 64, got "two"/],
    ['{"healthchecks": {"web": {"path": "/"}}}', /app.json healthchecks.web: must be a list of checks/],
    ['{"healthchecks": {"web": [{"path": "health"}]}}', /healthchecks.web\[0\].path: must start with \//],
    ['{"env": {"A": 3}}', /app.json env.A: must be a string or an object/],
    ['{"scripts": {"dokku": {"predeploy": 1}}}', /scripts.dokku.predeploy: must be a string/],
  ])('refuses %s with the key and value named', (text, message) => {
    expect(() => manifest({ 'app.json': text })).toThrow(message);
  });

  it("reads Dokku's older CHECKS file as web checks", () => {
    expect(parseChecks('WAIT=2\nATTEMPTS=3\n# comment\n/ Hello world\n/health\n')).toEqual([
      { path: '/', content: 'Hello world', initialDelay: 2, timeout: 30, attempts: 3, wait: 2, uptime: 0 },
      { path: '/health', initialDelay: 2, timeout: 30, attempts: 3, wait: 2, uptime: 0 },
    ]);
    expect(manifest({ CHECKS: '/ ok\n' }).healthchecks.web).toHaveLength(1);
  });
});
