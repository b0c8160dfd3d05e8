import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DetectContext, detect, type NodePlan } from '../../../../buildpacks/index.ts';
import { fixtureTree } from '../../../helpers/fixture-tree.ts';
import { FIXTURES } from '../../../helpers/git.ts';

const ctx: DetectContext = {
  nodeStacks: [{ image: 'widemesh/stack-node:22', nodeVersion: '22.23.3' }],
  publishedNodeVersions: [],
};
const plan = (name: string, overrides?: Record<string, string | null>) =>
  detect(fixtureTree(path.join(FIXTURES, name), overrides), ctx) as NodePlan;
const packageOf = (name: string) => JSON.parse(fixtureTree(path.join(FIXTURES, name)).readText('package.json')!);

describe('framework apps', () => {
  it('starts a NestJS app with start:prod, since its start script runs the pruned Nest CLI', () => {
    const nest = plan('node-nestjs');
    expect(nest.processes.web).toBe('npm run start:prod');
    expect(nest.build).toEqual(['npm run build', 'npm prune --omit=dev']);
    expect(nest.summary).toContain(
      'NestJS: "start" runs the Nest CLI (nest start), a devDependency pruned after the build: web runs start:prod (node dist/main)',
    );
    expect(nest.summary).toContain('web: npm run start:prod');
  });

  it('keeps a NestJS start script that does not run the CLI, and a Procfile over both', () => {
    const pkg = packageOf('node-nestjs');
    const own = JSON.stringify({ ...pkg, scripts: { ...pkg.scripts, start: 'node dist/main' } });
    expect(plan('node-nestjs', { 'package.json': own }).processes.web).toBe('npm run start');
    expect(plan('node-nestjs', { Procfile: 'web: node dist/main.js\n' }).processes.web).toBe('node dist/main.js');
  });

  it('sets HOST=0.0.0.0 for Astro with the Node adapter, and for no other app', () => {
    const astro = plan('node-astro');
    expect(astro.env).toEqual({ HOST: '0.0.0.0' });
    expect(astro.processes.web).toBe('npm run start');
    expect(astro.summary).toContain(
      'Astro with @astrojs/node: HOST=0.0.0.0 (its server binds HOST, localhost when unset)',
    );
    for (const other of ['node-react-router', 'node-fastify', 'node-socketio', 'node-nestjs'])
      expect(plan(other).env).toBeUndefined();
  });

  it('builds React Router with its devDependencies and starts react-router-serve', () => {
    const router = plan('node-react-router');
    expect(router.install).toEqual(['npm ci']);
    expect(router.build).toEqual(['npm run build', 'npm prune --omit=dev']);
    expect(router.summary).toContain('web: npm run start');
    expect(router.spaRoot).toBeUndefined();
  });

  it('serves React Router in SPA mode (no start script) from build/client, index.html for client routes', () => {
    const pkg = packageOf('node-react-router');
    const { start: _start, ...scripts } = pkg.scripts;
    const spa = plan('node-react-router', {
      'package.json': JSON.stringify({ ...pkg, scripts }),
      'react-router.config.js': 'export default { ssr: false };\n',
    });
    expect(spa.spaRoot).toBe('build/client');
    expect(spa.processes.web).toBe('node /opt/widemesh/static-server.cjs /app/build/client --spa');
  });

  it('installs only production dependencies for Fastify and Socket.IO, which have no build', () => {
    for (const name of ['node-fastify', 'node-socketio']) {
      expect(plan(name)).toMatchObject({ install: ['npm ci --omit=dev'], build: [] });
      expect(plan(name).processes.web).toBe('npm run start');
    }
  });
});
