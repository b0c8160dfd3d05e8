/**
 * Node.js apps as they come from the wild: each fixture is pushed with a real `git push` to one
 * server, built with real Docker, and answered through the router — or rejected with the message a
 * person needs. Deploys run a few at a time; the assertions read what each deploy left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, type PushResult, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

interface Case {
  fixture: string;
  /** What the app answers through the router once deployed. */
  body?: RegExp;
  /** What the push output says when the push is rejected. */
  rejected?: RegExp;
  /** Lines the build log must carry (the decisions made). */
  log?: RegExp[];
  config?: Record<string, string>;
}

const NPM_TOKEN = 'npm_wmTestToken7c1f9e0b2d';

const CASES: Case[] = [
  {
    fixture: 'node-4-nolock',
    body: /node v4\.9\.1 ms 2\.1\.3 1m env production/,
    log: [/Node\.js 4\.9\.1 \(engines\.node "4\.x"/],
  },
  { fixture: 'node-4-lockfile', body: /node v4\.9\.1 ms 2\.1\.3/, log: [/npm 2\.15\.12 predates npm ci/] },
  {
    fixture: 'node-4-nested-package',
    body: /node v4\.0\.0 ms 2\.1\.3/,
    log: [/Node\.js 4\.0\.0 \(engines\.node "4\.0\.0"/],
  },
  { fixture: 'node-6-nolock', body: /node v6\.17\.1 ms 2\.1\.3/, log: [/with npm 3\.10\.10/] },
  { fixture: 'node-8-lockfile', body: /node v8\.17\.0 ms 2\.1\.3/, log: [/npm ci \(package-lock\.json\)/] },
  { fixture: 'node-8-yarn', body: /node-8-yarn node v8\.17\.0 ms 2\.1\.3/, log: [/yarn 1\.22\.22 \(yarn\.lock\)/] },
  {
    fixture: 'node-10-lockfile',
    body: /node v10\.24\.1 ms 2\.1\.3/,
    log: [/Node\.js 10\.24\.1 \(engines\.node "10\.x"/],
  },
  { fixture: 'node-10-nolock', body: /node v10\.24\.1 ms 2\.1\.3/ },
  { fixture: 'node-lockfile-v1', body: /node v22\.\d+\.\d+ ms 2\.1\.3/, log: [/npm ci \(package-lock\.json\)/] },
  {
    fixture: 'node-engines-npm',
    body: /runs under npm 9\.\d+\.\d+/,
    log: [/npm 9\.x \(engines\.npm or packageManager\)/],
  },
  { fixture: 'node-shrinkwrap', body: /ms 2\.0\.0 /, log: [/npm ci \(npm-shrinkwrap\.json\)/] },
  {
    fixture: 'node-yarn1-foreign-registry',
    body: /ms 2\.1\.3/,
    log: [/yarn\.lock resolves from npm\.corp\.example: fetched from the configured registry instead/],
  },
  {
    fixture: 'node-yarn3-pnp',
    body: /node-yarn3-pnp .* ms 2\.1\.3/,
    log: [/yarn 3\.8\.7 \(checked-in release, Plug'n'Play\)/],
  },
  {
    fixture: 'node-yarn3-node-modules',
    body: /ms 2\.1\.3/,
    log: [/yarn 3\.8\.7 \(checked-in release, node-modules\)/],
  },
  {
    fixture: 'node-yarn4-pnp',
    body: /ms 2\.1\.3/,
    log: [/yarn 4\.5\.3 \(checked-in release, Plug'n'Play\)/, /web: yarn node index\.js/],
  },
  {
    fixture: 'node-yarn4-node-modules',
    body: /ms 2\.1\.3 1m devDependency pruned: true/,
    log: [/yarn 4\.5\.3 \(checked-in release, node-modules\)/],
  },
  {
    fixture: 'node-yarn4-zero-install',
    body: /ms 2\.1\.3/,
    log: [/zero-install: \.yarn\/cache is committed, installed offline/],
  },
  {
    fixture: 'node-yarn4-packagemanager',
    body: /ms 2\.1\.3/,
    log: [/yarn 4\.5\.3 \(packageManager, node-modules\)/],
  },
  { fixture: 'node-pnpm8', body: /ms 2\.1\.3/, log: [/pnpm 8\.15\.9/] },
  { fixture: 'node-pnpm9', body: /ms 2\.1\.3/, log: [/pnpm 9\.15\.9/] },
  { fixture: 'node-pnpm10', body: /ms 2\.1\.3/, log: [/pnpm 10\.34\.9/] },
  {
    fixture: 'node-workspaces-npm',
    body: /hello from npm web workspace ms 1m/,
    log: [/workspaces: packages\/\* \(2 packages\)/],
  },
  { fixture: 'node-workspaces-yarn', body: /hello from yarn web workspace ms 1m/, log: [/workspaces: packages\/\*/] },
  { fixture: 'node-workspaces-pnpm', body: /hello from pnpm web workspace ms 1m/, log: [/workspaces: packages\/\*/] },
  { fixture: 'node-typescript-pruned', body: /compiled from TypeScript, typescript pruned: true, 1m/ },
  {
    fixture: 'node-heroku-scripts',
    body: /prebuild saw node_modules: false, postbuild saw ms: true with NODE_ENV=production, cleanup saw devDependency: false/,
    log: [/heroku-postbuild instead of build/, /heroku-prebuild before the install/, /heroku-cleanup after pruning/],
  },
  {
    fixture: 'node-npmrc-token',
    body: /ms 2\.1\.3/,
    config: { NPM_TOKEN },
    log: [/install reads NPM_TOKEN \(config vars, kept out of the image\)/],
  },
  { fixture: 'node-bad-package-json', rejected: /package\.json is not valid JSON: .*\(line 4 column 3\)/ },
  {
    fixture: 'node-bad-lockfile-out-of-sync',
    rejected: /can only install packages when your package\.json and package-lock\.json/,
  },
  {
    fixture: 'node-bad-missing-dependency',
    rejected: /404 Not Found - GET https:\/\/registry\.npmjs\.org\/widemesh-no-such-package-q7x2/,
  },
  { fixture: 'node-bad-engines', rejected: /engines\.node "7\.99\.x" \(nearest published: 7\.10\.1, 8\.0\.0/ },
];

const CONCURRENCY = 3;
const ESC = String.fromCharCode(27);

interface Outcome {
  push: PushResult;
  body?: string;
  repo: string;
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** The router answers as soon as the release is live; poll briefly in case the route lags. */
async function answer(server: TestServer, app: string): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const reply = await viaRouter(server, `${app}.localhost`).catch((err: Error) => ({ status: 0, body: err.message }));
    if (reply.status === 200) return reply.body;
    last = `${reply.status} ${reply.body}`;
    await new Promise((r) => setTimeout(r, 250));
  }
  return `no answer: ${last}`;
}

async function deploy(server: TestServer, c: Case): Promise<Outcome> {
  const repo = appRepo(c.fixture);
  if (c.config) {
    await api(server, 'POST', '/api/apps', { name: c.fixture });
    await api(server, 'PATCH', `/api/apps/${c.fixture}/config`, c.config);
  }
  const result = await push(repo, remoteUrl(server, c.fixture));
  return { push: result, repo, ...(result.code === 0 ? { body: await answer(server, c.fixture) } : {}) };
}

/** Build log lines of an app's latest build, as stored. */
async function buildLog(server: TestServer, app: string): Promise<string> {
  const builds = (await api(server, 'GET', `/api/apps/${app}/builds`)).json as { id: number }[];
  const latest = Math.max(...builds.map((b) => b.id));
  const log = await api(server, 'GET', `/api/apps/${app}/builds/${latest}/log`);
  return (log.json.lines as { line: string }[]).map((l) => l.line).join('\n');
}

/** The steps of a push's build output that Docker answered from its cache. */
function cachedSteps(output: string): string[] {
  const lines = output.split('\n');
  return lines
    .map((line, i) => ({ line, next: lines[i + 1] ?? '' }))
    .filter(({ line, next }) => /Step \d+\/\d+ : RUN/.test(line) && /Using cache/.test(next))
    .map(({ line }) => line.replace(/^.*Step \d+\/\d+ : /, '').trim());
}

describe('Node.js conformance: fixtures from the wild deploy as on Heroku', () => {
  let server: TestServer;
  const outcomes = new Map<string, Outcome>();

  beforeAll(async () => {
    // the production default: yarn 1 and pnpm as start commands look for the network first (an
    // instance has none), which under this file's parallel deploys can take longer than the tests' 15 s
    server = await startServer({ WIDEMESH_HEALTHCHECK_TIMEOUT: '60' });
    const results = await pool(CASES, CONCURRENCY, (c) => deploy(server, c));
    for (const [i, c] of CASES.entries()) outcomes.set(c.fixture, results[i]!);
  }, 900_000);

  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    for (const o of outcomes.values()) fs.rmSync(o.repo, { recursive: true, force: true });
  }, 120_000);

  for (const c of CASES) {
    it(`${c.fixture}: ${c.rejected ? 'rejected with a clear message' : 'deploys and answers'}`, () => {
      const outcome = outcomes.get(c.fixture)!;
      const output = outcome.push.output;
      expect(output).not.toContain(ESC);
      expect(output).not.toMatch(/\[9\dm|\[0m/);
      if (c.rejected) {
        expect(outcome.push.code).not.toBe(0);
        expect(output).toMatch(c.rejected);
        expect(output).toMatch(/Push rejected/);
      } else {
        expect(outcome.push.code, output.slice(-3000)).toBe(0);
        expect(outcome.body).toMatch(c.body!);
      }
      for (const line of c.log ?? []) expect(output).toMatch(line);
    });
  }

  it('keeps a config var the install reads out of the log, the image history and the image files', async () => {
    const app = 'node-npmrc-token';
    const stored = await buildLog(server, app);
    expect(stored).not.toContain(NPM_TOKEN);
    expect(stored).not.toContain(ESC);
    expect(stored).toMatch(/Step \d+\/\d+ : RUN \. \/tmp\/widemesh-install-secrets\.sh && npm ci --omit=dev/);
    expect(outcomes.get(app)!.push.output).not.toContain(NPM_TOKEN);
    const [release] = (await api(server, 'GET', `/api/apps/${app}/releases`)).json as { image: string }[];
    const history = await docker.getImage(release!.image).history();
    expect(JSON.stringify(history)).not.toContain(NPM_TOKEN);
    const container = await docker.createContainer({ Image: release!.image, Cmd: ['true'] });
    try {
      const files = await container.export();
      let found = false;
      let tail = '';
      for await (const chunk of files as AsyncIterable<Buffer>) {
        const text = tail + chunk.toString('latin1');
        if (text.includes(NPM_TOKEN)) found = true;
        tail = text.slice(-NPM_TOKEN.length);
      }
      expect(found).toBe(false);
    } finally {
      await container.remove({ force: true });
    }
  }, 120_000);

  it('rejects a lockfile out of sync on a live app, whose release keeps serving', async () => {
    const { repo, body } = outcomes.get('node-shrinkwrap')!;
    const file = path.join(repo, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    pkg.dependencies['is-number'] = '^7.0.0';
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
    commitAll(repo, 'a dependency added without updating the lockfile');
    const result = await push(repo, remoteUrl(server, 'node-shrinkwrap'));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/package\.json and package-lock\.json or npm-shrinkwrap\.json are in sync/);
    expect(result.output).toMatch(/Push rejected\. v1 keeps serving\./);
    expect(await answer(server, 'node-shrinkwrap')).toBe(body);
  }, 300_000);

  it('reuses the installed Node for a second app on the same version', async () => {
    const c: Case = { fixture: 'node-10-nolock' };
    const repo = appRepo(c.fixture);
    try {
      const result = await push(repo, remoteUrl(server, 'node-10-again'));
      expect(result.code, result.output.slice(-2000)).toBe(0);
      expect(cachedSteps(result.output)).toContain('RUN sh /opt/widemesh/install-node.sh 10.24.1 6.14.12');
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  }, 300_000);

  for (const fixture of ['node-workspaces-npm', 'node-yarn4-pnp']) {
    it(`reuses the dependency layer of ${fixture} when only code changes`, async () => {
      const repo = outcomes.get(fixture)!.repo;
      const file = fixture === 'node-yarn4-pnp' ? 'index.js' : 'packages/web/server.js';
      fs.appendFileSync(path.join(repo, file), '\n// a code-only change\n');
      commitAll(repo, 'code only');
      const result = await push(repo, remoteUrl(server, fixture));
      expect(result.code, result.output.slice(-2000)).toBe(0);
      expect(cachedSteps(result.output).some((s) => /npm ci|npm install|yarn install|pnpm install/.test(s))).toBe(true);
    }, 300_000);
  }
});
