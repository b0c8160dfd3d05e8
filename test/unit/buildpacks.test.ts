import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BuildPlan,
  BuildpackError,
  baseImagesOf,
  buildFilesFor,
  type DetectContext,
  detect,
  STATIC_SERVER,
} from '../../buildpacks/index.ts';
import { fixtureTree } from '../helpers/fixture-tree.ts';
import { FIXTURES } from '../helpers/git.ts';
import { freePort } from '../helpers/net.ts';

const ctx: DetectContext = {
  nodeStacks: [
    { image: 'widemesh/stack-node:20', nodeVersion: '20.20.2' },
    { image: 'widemesh/stack-node:22', nodeVersion: '22.23.3' },
  ],
  publishedNodeVersions: [
    '4.9.1',
    '6.17.1',
    '7.10.1',
    '8.0.0',
    '8.17.0',
    '10.24.1',
    '16.20.2',
    '18.19.0',
    '18.20.8',
    '20.20.2',
    '22.23.3',
    '24.1.0',
  ],
};
const fixture = (name: string, overrides?: Record<string, string | null>) =>
  fixtureTree(path.join(FIXTURES, name), overrides);
const plan = (name: string, overrides?: Record<string, string | null>) => detect(fixture(name, overrides), ctx);
const dockerfile = (p: BuildPlan) => Object.values(buildFilesFor(p).files)[0] ?? '';

function detectError(name: string, overrides?: Record<string, string | null>, context = ctx): BuildpackError {
  try {
    detect(fixture(name, overrides), context);
  } catch (err) {
    if (err instanceof BuildpackError) return err;
    throw err;
  }
  throw new Error('expected a BuildpackError');
}

describe('detection', () => {
  it('picks the buildpack, package manager and Node version for each fixture', () => {
    expect(plan('node-express-npm')).toMatchObject({
      buildpack: 'node',
      packageManager: 'npm',
      install: ['npm ci --omit=dev'],
      stackImage: 'widemesh/stack-node:22',
      processes: { web: 'npm run start' },
    });
    expect(plan('node-build-script')).toMatchObject({
      install: ['npm ci'],
      build: ['npm run build', 'npm prune --omit=dev'],
    });
    expect(plan('node-yarn')).toMatchObject({
      packageManager: 'yarn',
      globalInstalls: ['yarn@1.22.22'],
      install: ['yarn install --frozen-lockfile --production'],
    });
    expect(plan('node-pnpm')).toMatchObject({
      packageManager: 'pnpm',
      globalInstalls: ['pnpm@9'],
      install: ['pnpm install --frozen-lockfile --prod'],
    });
    expect(plan('node-engines-18')).toMatchObject({
      stackImage: 'widemesh/stack-node:22',
      installNode: { node: '18.20.8', npm: '10' },
      processes: { web: 'node app.js' },
    });
    expect(plan('node-express-npm', { 'package.json': JSON.stringify({ engines: { node: '20.x' } }) })).toMatchObject({
      stackImage: 'widemesh/stack-node:20',
    });
    expect(plan('node-no-start')).toMatchObject({ buildpack: 'node', processes: {} });
    expect(plan('node-no-start').summary.at(-1)).toMatch(/no start command found/);
    expect(plan('node-vite-spa')).toMatchObject({
      spaRoot: 'dist',
      build: ['npm run build', 'npm prune --omit=dev'],
      processes: { web: 'node /opt/widemesh/static-server.cjs /app/dist --spa' },
    });
    expect(plan('node-vite-spa').summary.at(-1)).toBe(
      'no start command: serving the built dist/ as a single-page app (index.html for client-side routes)',
    );
    expect(buildFilesFor(plan('node-vite-spa')).files['.widemesh/static-server.cjs']).toBe(STATIC_SERVER);
    expect(plan('dockerfile-app')).toMatchObject({
      buildpack: 'dockerfile',
      baseImages: ['widemesh/stack-node:22'],
      processes: {},
    });
    expect(plan('static-site')).toMatchObject({ buildpack: 'static', root: '' });
    expect(plan('static-public')).toMatchObject({
      buildpack: 'static',
      root: 'public',
      processes: { web: 'node /opt/widemesh/static-server.cjs /app/public' },
    });
    expect(plan('procfile-shell')).toMatchObject({ buildpack: 'procfile', processes: { worker: 'sleep infinity' } });
    expect(plan('procfile-overrides-node').processes.web).toBe('node other.js');
  });

  it('prefers a Dockerfile over everything else, and a package.json over an index.html', () => {
    expect(plan('node-express-npm', { Dockerfile: 'FROM widemesh/stack-node:20\n' }).buildpack).toBe('dockerfile');
    expect(plan('node-express-npm', { 'index.html': '<h1>x</h1>' }).buildpack).toBe('node');
  });

  it('explains what it looks for when nothing matches', () => {
    const err = detectError('empty');
    expect(err.code).toBe('NO_BUILDPACK_DETECTED');
    for (const what of ['a Dockerfile at the root', 'a package.json at the root', 'an index.html', 'a Procfile'])
      expect(err.message).toContain(what);
  });

  it('refuses an engines.node nothing can satisfy, an invalid range, and invalid package.json', () => {
    const none = detectError('node-engines-none');
    expect(none.code).toBe('NODE_VERSION_UNRESOLVED');
    expect(none.message).toContain('">=99"');
    expect(none.message).toContain('the newest is 24.1.0');
    expect(detectError('node-engines-18', {}, { ...ctx, publishedNodeVersions: [] }).message).toMatch(
      /could not be read/,
    );
    expect(detectError('node-express-npm', { 'package.json': '{"engines":{"node":"banana"}}' }).message).toMatch(
      /not a valid semver range/,
    );
    const invalid = detectError('node-express-npm', { 'package.json': '{ "name": ' });
    expect(invalid.code).toBe('PACKAGE_JSON_INVALID');
  });

  it('refuses a Procfile with nothing to run', () => {
    expect(detectError('procfile-shell', { Procfile: '# only a comment\nnot a line\n' }).code).toBe('PROCFILE_INVALID');
  });
});

describe('Dockerfile base images', () => {
  it('skips stages and scratch, resolves ARG defaults', () => {
    expect(baseImagesOf(fs.readFileSync(path.join(FIXTURES, 'dockerfile-multistage/Dockerfile'), 'utf8'))).toEqual([
      'widemesh/stack-node:22',
      'widemesh/stack-base:bookworm',
    ]);
    expect(baseImagesOf(['ARG X', 'FROM $' + '{X}', 'FROM a:1 as b', 'FROM b', ''].join('\n'))).toEqual(['a:1']);
  });
});

describe('generated Dockerfiles', () => {
  /** What a fixture builds with: the generated Dockerfile, the app's own, or the error detection gives. */
  function buildOutline(name: string): string {
    let p: BuildPlan;
    try {
      p = plan(name);
    } catch (err) {
      if (err instanceof BuildpackError) return `# detection refuses it: ${err.code}\n# ${err.message}\n`;
      throw err;
    }
    const files = buildFilesFor(p);
    return files.dockerfilePath === 'Dockerfile'
      ? "# built with the app's own Dockerfile\n"
      : (files.files[files.dockerfilePath] ?? '');
  }
  for (const name of fs.readdirSync(FIXTURES).sort()) {
    it(`matches the snapshot for ${name}`, async () => {
      await expect(buildOutline(name)).toMatchFileSnapshot(`./__snapshots__/dockerfiles/${name}.Dockerfile`);
    });
  }

  it('uses an existing Dockerfile as it is', () => {
    expect(buildFilesFor(plan('dockerfile-app'))).toEqual({ dockerfilePath: 'Dockerfile', files: {} });
  });

  it('keeps the dependency layer unchanged when only code changes', () => {
    const beforeCode = (text: string) => text.slice(0, text.indexOf('COPY . .'));
    const original = dockerfile(plan('node-build-script'));
    const codeChange = dockerfile(
      plan('node-build-script', { 'index.ts': 'console.log("changed");', 'src/new.ts': 'export {}' }),
    );
    expect(beforeCode(codeChange)).toBe(beforeCode(original));
    expect(beforeCode(original)).toContain('COPY ["package.json","package-lock.json","./"]');
    expect(beforeCode(original)).toContain('RUN npm ci');
    expect(original.indexOf('RUN npm run build')).toBeGreaterThan(original.indexOf('COPY . .'));
  });

  it('is a pure function of the plan', () => {
    const p = plan('static-site');
    expect(buildFilesFor(p)).toEqual(buildFilesFor(structuredClone(p)));
    expect(buildFilesFor(p).files['.widemesh/static-server.cjs']).toBe(STATIC_SERVER);
  });
});

/** The static server on a free port over `site` (written by `write`), with its command-line flags. */
async function startStaticServer(write: (site: string, dir: string) => void, ...flags: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-static-'));
  const site = path.join(dir, 'site');
  fs.mkdirSync(path.join(site, 'docs'), { recursive: true });
  write(site, dir);
  fs.writeFileSync(path.join(dir, 'server.cjs'), STATIC_SERVER);
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(dir, 'server.cjs'), site, ...flags], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'pipe',
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const get = (p: string) =>
    new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: p }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
        })
        .on('error', reject);
    });
  const stop = () => {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { get, stop };
}

describe('the static server', () => {
  it('serves files with their content type, refuses traversal, and 404s', async () => {
    const { get, stop } = await startStaticServer((site, dir) => {
      fs.writeFileSync(path.join(site, 'index.html'), '<h1>home</h1>');
      fs.writeFileSync(path.join(site, 'style.css'), 'body{}');
      fs.writeFileSync(path.join(site, 'docs', 'index.html'), '<h1>docs</h1>');
      fs.writeFileSync(path.join(dir, 'secret.txt'), 'do not serve');
    });
    try {
      expect(await get('/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', body: '<h1>home</h1>' });
      expect(await get('/style.css')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
      expect(await get('/docs/')).toMatchObject({ status: 200, body: '<h1>docs</h1>' });
      for (const evil of ['/../secret.txt', '/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/%00']) {
        const answer = await get(evil);
        expect(answer.body).not.toContain('do not serve');
        expect(answer.status).toBe(404);
      }
      expect((await get('/missing.png')).status).toBe(404);
    } finally {
      stop();
    }
  });

  it('answers client-side routes with index.html for a single-page app (--spa), but not missing files', async () => {
    const { get, stop } = await startStaticServer((site) => {
      fs.writeFileSync(path.join(site, 'index.html'), '<div id="app"></div>');
      fs.writeFileSync(path.join(site, 'app.js'), 'render()');
    }, '--spa');
    try {
      expect(await get('/users/42?tab=posts')).toMatchObject({ status: 200, body: '<div id="app"></div>' });
      expect(await get('/app.js')).toMatchObject({ status: 200, body: 'render()' });
      expect((await get('/assets/missing.js')).status).toBe(404);
    } finally {
      stop();
    }
  });
});
