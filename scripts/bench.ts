/**
 * Push-to-serving, measured against the raw baseline in the same run:
 *   ours:     git push → first 200 with the new code through the router, on a server building
 *             isolated (the default) and one building on the host's network (what isolation costs)
 *   baseline: docker build of the same generated Dockerfile → docker run → first 200
 * for a cold push (new dependencies) and a code-only re-push, each repeated; medians compared.
 * Then log latency, and the edge: straight to the container against through nginx, same load.
 * `scripts/bench router` (or push, logs) runs one section.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { buildFilesFor, detect } from '../buildpacks/index.ts';
import { nodeStacks } from '../server/images/node-versions.ts';
import { fixtureTree } from '../test/helpers/fixture-tree.ts';
import { appRepo, commitAll, push, remoteUrl } from '../test/helpers/git.ts';
import { type LoadResult, runLoad } from '../test/helpers/load.ts';
import { freePort } from '../test/helpers/net.ts';
import { docker, request, startServer, type TestServer, viaRouter } from '../test/helpers/server.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function writeCode(dir: string, marker: string): void {
  fs.writeFileSync(
    path.join(dir, 'server.js'),
    `const express = require('express');
const app = express();
app.get('/', (req, res) => res.send('${marker}'));
app.listen(process.env.PORT);
`,
  );
}

/** A new package.json description: Docker's cache misses from the dependency layer on, as for new dependencies. */
function bumpDependencies(dir: string, marker: string): void {
  const file = path.join(dir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  pkg.description = marker;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
}

async function until(check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the app');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A workspace app (its web process in packages/web): code-only pushes must reuse the dependency layer
 * too. Returns how many of them reinstalled dependencies.
 */
async function workspaceCodeOnly(server: Awaited<ReturnType<typeof startServer>>): Promise<number> {
  const repo = appRepo('node-workspaces-npm');
  const serverFile = path.join(repo, 'packages/web/server.js');
  const original = fs.readFileSync(serverFile, 'utf8');
  let reinstalled = 0;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const marker = `workspace ${process.pid}-${round}`;
      fs.writeFileSync(serverFile, original.replace("' web workspace ms '", `' ${marker} ms '`));
      commitAll(repo, marker);
      const result = await push(repo, remoteUrl(server, 'bench-workspace'));
      if (result.code !== 0) throw new Error(`push failed:\n${result.output}`);
      await until(async () => (await viaRouter(server, 'bench-workspace.localhost')).body.includes(marker));
      if (round > 0 && /added \d+ packages/.test(result.output)) reinstalled += 1; // round 0 is the first install
    }
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
  return reinstalled;
}

type Side = 'raw' | 'isolated' | 'host';
type Timings = Record<Side, { cold: number[]; code: number[] }>;

/**
 * Push-to-serving on two servers in the same run, one building isolated (the default) and one on
 * the host's network, next to raw docker build + run. Each side gets its own new dependencies on
 * a cold push (no side reuses another's layer), then a code-only push.
 */
async function main(): Promise<void> {
  // a loaded machine can take longer than the tests' 15 s to start a Node app
  const settings = { WIDEMESH_LOG_LEVEL: 'warn', WIDEMESH_HEALTHCHECK_TIMEOUT: '120' };
  const servers = {
    isolated: await startServer(settings),
    host: await startServer({ ...settings, WIDEMESH_BUILD_NETWORK: 'host' }),
  };
  const repo = appRepo('node-express-npm');
  const baselineDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-bench-raw-'));
  const containers: string[] = [];
  const results: Timings = {
    raw: { cold: [], code: [] },
    isolated: { cold: [], code: [] },
    host: { cold: [], code: [] },
  };
  let reinstalled = 0;
  let workspaceReinstalled = 0;
  try {
    const ctx = { nodeStacks: await nodeStacks(docker), publishedNodeVersions: [] };
    const rawRun = async (marker: string): Promise<number> => {
      fs.cpSync(repo, baselineDir, { recursive: true, filter: (src) => !src.includes('/.git') });
      const files = buildFilesFor(detect(fixtureTree(baselineDir), ctx)).files;
      for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(baselineDir, name)), { recursive: true });
        fs.writeFileSync(path.join(baselineDir, name), text);
      }
      const port = await freePort();
      const started = Date.now();
      await run(
        'docker',
        ['build', '-q', '--network', 'host', '-f', '.widemesh/Dockerfile', '-t', 'widemesh-bench/raw:latest', '.'],
        { cwd: baselineDir, env: { ...process.env, DOCKER_BUILDKIT: '0' } },
      );
      const { stdout } = await run('docker', [
        'run',
        '-d',
        '--init',
        '--network',
        'host',
        '-e',
        `PORT=${port}`,
        'widemesh-bench/raw:latest',
      ]);
      containers.push(stdout.trim());
      await until(async () => (await request(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 })).body === marker);
      return Date.now() - started;
    };
    const ourPush = async (server: TestServer, marker: string): Promise<number> => {
      const started = Date.now();
      const pushing = push(repo, remoteUrl(server, 'bench'));
      await until(async () => (await viaRouter(server, 'bench.localhost')).body === marker);
      const elapsed = Date.now() - started;
      const result = await pushing;
      if (result.code !== 0) throw new Error(`push failed:\n${result.output}`);
      if (marker.startsWith('code') && /added \d+ packages/.test(result.output)) reinstalled += 1;
      return elapsed;
    };
    const measure = (side: Side, marker: string) => (side === 'raw' ? rawRun(marker) : ourPush(servers[side], marker));

    // first push creates the app on each server; not measured
    writeCode(repo, 'warm-up');
    commitAll(repo, 'warm-up');
    for (const server of Object.values(servers)) await ourPush(server, 'warm-up');

    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of ['raw', 'isolated', 'host'] as const) {
        const id = `${side} ${process.pid}-${round}-${Date.now()}`;
        bumpDependencies(repo, `cold ${id}`);
        writeCode(repo, `cold ${id}`);
        commitAll(repo, `cold ${id}`);
        results[side].cold.push(await measure(side, `cold ${id}`));
        writeCode(repo, `code ${id}`);
        commitAll(repo, `code ${id}`);
        results[side].code.push(await measure(side, `code ${id}`));
      }
      const last = (side: Side) => `${side} ${results[side].cold.at(-1)}/${results[side].code.at(-1)}ms`;
      console.log(`round ${round} (cold/code-only): ${last('isolated')}; ${last('host')}; ${last('raw')}`);
    }
    workspaceReinstalled = await workspaceCodeOnly(servers.isolated);
  } finally {
    for (const id of containers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getImage('widemesh-bench/raw:latest')
      .remove({ force: true })
      .catch(() => {});
    for (const server of Object.values(servers)) {
      await server.stop();
      await server.cleanup();
    }
    fs.rmSync(baselineDir, { recursive: true, force: true });
    fs.rmSync(repo, { recursive: true, force: true });
  }
  reportPushes(results);
  console.log(`code-only pushes that reinstalled dependencies: ${reinstalled} of ${ROUNDS * 2}`);
  console.log(
    `workspace app (node-workspaces-npm) code-only pushes that reinstalled: ${workspaceReinstalled} of ${ROUNDS}`,
  );
}

function reportPushes(results: Timings): void {
  const seconds = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)}s`;
  const line = (name: string, kind: 'cold' | 'code') => {
    const { isolated, host, raw } = {
      isolated: results.isolated[kind],
      host: results.host[kind],
      raw: results.raw[kind],
    };
    const ratio = median(isolated) / median(raw);
    return (
      `${name.padEnd(16)} isolated ${seconds(isolated)}   host-network build ${seconds(host)}   raw ${seconds(raw)}   ` +
      `isolation costs ${((median(isolated) - median(host)) / 1000).toFixed(2)}s; ` +
      `isolated/raw ${ratio.toFixed(2)} (${ratio <= 1.15 ? 'within' : 'over'} the 1.15 target)`
    );
  };
  console.log(
    `\npush-to-serving, median of ${ROUNDS} rounds (node-express-npm), builds isolated vs on the host network`,
  );
  console.log(line('cold push', 'cold'));
  console.log(line('code-only push', 'code'));
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

/** App log write → websocket client, with 100 clients tailing; build step output → `remote:` line. */
async function logLatency(): Promise<void> {
  const server = await startServer({ WIDEMESH_LOG_LEVEL: 'warn' });
  const repo = appRepo('node-express-npm');
  const clients: WebSocket[] = [];
  try {
    fs.writeFileSync(
      path.join(repo, 'server.js'),
      `const express = require('express');
const app = express();
app.get('/log', (req, res) => { console.log('stamp ' + Date.now()); res.send('ok'); });
app.get('/', (req, res) => res.send('ok'));
app.listen(process.env.PORT);
`,
    );
    fs.writeFileSync(
      path.join(repo, 'Dockerfile'),
      [
        'FROM widemesh/stack-node:22',
        'WORKDIR /app',
        'COPY package*.json ./',
        'RUN npm ci --omit=dev',
        `RUN for i in $(seq 1 20); do node -e "console.log('tick ' + Date.now())"; sleep 0.1; done # ${Date.now()}`,
        'COPY . .',
        'CMD ["node", "server.js"]',
        '',
      ].join('\n'),
    );
    commitAll(repo, 'latency app');
    // build-log latency: the pusher's clock at each `remote: tick T` line against T
    const buildDelays: number[] = [];
    const { spawn } = await import('node:child_process');
    await new Promise<void>((resolve) => {
      const child = spawn('git', ['push', remoteUrl(server, 'latency'), 'main'], { cwd: repo });
      let pending = '';
      child.stderr.on('data', (chunk) => {
        const now = Date.now();
        const lines = (pending + String(chunk)).split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const m = /remote:\s+tick (\d+)/.exec(l);
          if (m) buildDelays.push(now - Number(m[1]));
        }
      });
      child.on('close', () => resolve());
    });

    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.apiPort}/api/apps/latency/logs?source=app`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      ws.on('message', (data) => {
        const m = /^stamp (\d+)$/.exec(JSON.parse(String(data)).line ?? '');
        if (m) delays.push(Date.now() - Number(m[1]));
      });
      clients.push(ws);
    }
    await Promise.all(clients.map((ws) => new Promise((r) => ws.once('open', r))));
    await new Promise((r) => setTimeout(r, 2500)); // every client attached to both racks' instances
    for (let i = 0; i < 50; i++) {
      await viaRouter(server, 'latency.localhost', '/log');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));
    console.log(`\nlog latency`);
    console.log(
      `app log → websocket, 100 tailing clients: ${delays.length} deliveries, p50 ${percentile(delays, 50)}ms, p99 ${percentile(delays, 99)}ms (target p99 < 100ms)`,
    );
    console.log(
      `build step output → remote: line: ${buildDelays.length} lines, p50 ${percentile(buildDelays, 50)}ms, p99 ${percentile(buildDelays, 99)}ms`,
    );
  } finally {
    for (const ws of clients) ws.terminate();
    await server.stop();
    await server.cleanup();
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

type Target = { port: number; host?: string };
type Round = Record<'direct' | 'edge' | 'isolated', LoadResult>;

/** Pushes the plain Node app to a server; answers its edge address and its first instance's port. */
async function deployPlain(server: TestServer, repo: string): Promise<{ edge: Target; port: number }> {
  const result = await push(repo, remoteUrl(server, 'plain'));
  if (result.code !== 0) throw new Error(`push failed:\n${result.output}`);
  const db = new Database(path.join(server.dataDir, 'widemesh.db'), { readonly: true });
  const row = db.prepare("SELECT instances FROM placements WHERE rack = 'local-a'").get() as { instances: string };
  db.close();
  return {
    edge: { port: server.routerPort, host: `plain.localhost:${server.routerPort}` },
    port: JSON.parse(row.instances)[0].port,
  };
}

/**
 * Requests per second and tail latency, same run, same app: straight to the container (host
 * networking: the only way to reach it directly), through the edge to it, and through the edge
 * and a relay socket to an isolated instance (the default).
 */
async function routerThroughput(): Promise<void> {
  const hostServer = await startServer({ WIDEMESH_LOG_LEVEL: 'warn', WIDEMESH_INSTANCE_NETWORK: 'host' });
  const isolatedServer = await startServer({ WIDEMESH_LOG_LEVEL: 'warn', WIDEMESH_INSTANCE_NETWORK: 'isolated' });
  const repo = appRepo('dockerfile-app');
  const CONNECTIONS = 50;
  const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 8);
  try {
    const onHost = await deployPlain(hostServer, repo);
    const targets: Record<keyof Round, Target> = {
      direct: { port: onHost.port },
      edge: onHost.edge,
      isolated: (await deployPlain(isolatedServer, repo)).edge,
    };
    const load = (target: Target, durationMs: number) => runLoad({ ...target, connections: CONNECTIONS, durationMs });
    for (const target of Object.values(targets)) await load(target, 2000); // warm-up: JIT, connection set-up
    const rounds: Round[] = [];
    for (let i = 0; i < 2; i++) {
      const round: Partial<Round> = {};
      for (const [name, target] of Object.entries(targets))
        round[name as keyof Round] = await load(target, SECONDS * 1000);
      rounds.push(round as Round);
    }
    console.log(`\nrouter: ${CONNECTIONS} keep-alive connections, ${SECONDS}s per run, plain Node http app (local-a)`);
    reportThroughput(rounds);
  } finally {
    for (const server of [hostServer, isolatedServer]) {
      await server.stop();
      await server.cleanup();
    }
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

function reportThroughput(rounds: Round[]): void {
  const show = (name: string, r: LoadResult) =>
    `${name.padEnd(9)} ${Math.round(r.perSecond).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(1)}ms  p99 ${r.p99.toFixed(1)}ms  failed ${r.failures.length}`;
  for (const [i, r] of rounds.entries()) {
    console.log(`round ${i + 1}: ${show('direct', r.direct)}`);
    console.log(`         ${show('edge', r.edge)}`);
    console.log(`         ${show('isolated', r.isolated)}`);
  }
  const sum = (f: (r: Round) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const versus = (name: 'edge' | 'isolated', target: number) => {
    const ratio = sum((r) => r[name].perSecond) / sum((r) => r.direct.perSecond);
    const p99Ratio = sum((r) => r[name].p99) / sum((r) => r.direct.p99);
    const p99Diff = (sum((r) => r[name].p99) - sum((r) => r.direct.p99)) / rounds.length;
    const met = (ok: boolean) => (ok ? 'met' : 'missed');
    console.log(
      `${name}/direct throughput ${ratio.toFixed(2)}x (target >= ${target}: ${met(ratio >= target)}); ` +
        `p99 ${p99Diff >= 0 ? '+' : ''}${p99Diff.toFixed(1)}ms, ${p99Ratio.toFixed(2)}x direct (target <= 2.5x: ${met(p99Ratio <= 2.5)})`,
    );
  };
  versus('edge', 0.6);
  versus('isolated', 0.4);
}

// BENCH_ONLY=logs (or arguments: push, logs, router) runs some sections alone
const sections = process.env.BENCH_ONLY ? [process.env.BENCH_ONLY] : process.argv.slice(2);
const wanted = (name: string) => sections.length === 0 || sections.includes(name);
if (wanted('push')) await main();
if (wanted('logs')) await logLatency();
if (wanted('router')) await routerThroughput();
