import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import {
  api,
  docker,
  instanceContainers,
  openSession,
  request,
  startServer,
  type TestServer,
  viaRouter,
} from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const head = (dir: string) => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();

/** A copy of a work tree with one more commit whose page says `marker`. */
function branchOff(dir: string, marker: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), `widemesh-${marker}-`));
  fs.cpSync(dir, copy, { recursive: true });
  fs.writeFileSync(path.join(copy, 'index.html'), marker);
  commitAll(copy, marker);
  return copy;
}

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM). */
function procBytes(pid: number, field: string): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return Number(line![1]) * 1024;
}

/** POSTs a body, answering the status, or the error when the server cut the connection first. */
function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('hardening: what an adversarial pass found', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({
      WIDEMESH_BUILD_TIMEOUT: '20',
      WIDEMESH_UNAUTHENTICATED_PER_MINUTE: '40',
      WIDEMESH_MAX_SOURCE_FILES: '2000',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  const branchOnServer = (app: string) =>
    execFileSync('git', ['ls-remote', remoteUrl(server, app), 'refs/heads/main'], { encoding: 'utf8' }).split('\t')[0];

  /** A static site whose page says `page`, pushed and live as `app`; its work tree. */
  const deployedSite = async (app: string, page: string) => {
    const dir = appRepo('static-site');
    fs.writeFileSync(path.join(dir, 'index.html'), page);
    commitAll(dir, page);
    expect((await push(dir, remoteUrl(server, app))).code).toBe(0);
    return dir;
  };

  it('two racing pushes: the one git accepts is the one serving and the branch', async () => {
    const base = await deployedSite('race', 'base');
    const a = branchOff(base, 'A');
    const b = branchOff(base, 'B');
    const first = push(a, remoteUrl(server, 'race'));
    await sleep(300);
    const second = push(b, remoteUrl(server, 'race'));
    const results = [
      { ...(await first), dir: a },
      { ...(await second), dir: b },
    ];
    const accepted = results.filter((r) => r.code === 0);
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!;
    expect(branchOnServer('race')).toBe(head(winner.dir));
    expect((await viaRouter(server, 'race.localhost')).body).toBe(
      fs.readFileSync(path.join(winner.dir, 'index.html'), 'utf8'),
    );
    expect(results.some((r) => r.output.includes('Waiting: another deploy of race is in progress'))).toBe(true);
    expect(results.find((r) => r !== winner)!.output).toContain('another push moved main');
  });

  it('a push whose ref update fails after its release went live is rolled back', async () => {
    const base = await deployedSite('locked', 'one');
    const next = branchOff(base, 'two');
    // another git process holding the branch's lock makes git's ref update fail after pre-receive
    const lock = path.join(server.dataDir, 'repos', 'locked.git', 'refs', 'heads', 'main.lock');
    fs.writeFileSync(lock, '');
    const result = await push(next, remoteUrl(server, 'locked'));
    fs.rmSync(lock);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('failed to update ref');
    const releases = await until('the rollback release', async () => {
      const list = (await api(server, 'GET', '/api/apps/locked/releases')).json as {
        status: string;
        description: string;
      }[];
      return list[0]?.status === 'succeeded' && list.length === 3 ? list : undefined;
    });
    expect(releases.map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(releases[0]!.description).toMatch(/^Rollback to v1/);
    expect(branchOnServer('locked')).toBe(head(base));
    expect((await viaRouter(server, 'locked.localhost')).body).toBe('one');
  });

  it('a push of two deploying branches at once does not wait on itself', async () => {
    const site = await deployedSite('pair', 'first');
    const next = branchOff(site, 'second');
    // main and master both deploy production: the hook deploys them one after the other, and
    // git updates both refs only once the hook has exited
    const result = await push(next, remoteUrl(server, 'pair'), 'main', 'main:master');
    expect(result.code).toBe(0);
    expect(branchOnServer('pair')).toBe(head(next));
    expect((await viaRouter(server, 'pair.localhost')).body).toBe('second');
    const releases = (await api(server, 'GET', '/api/apps/pair/releases')).json as { status: string }[];
    expect(releases.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('refuses a commit with too many files early, while another app keeps answering', async () => {
    const steady = appRepo('static-site');
    expect((await push(steady, remoteUrl(server, 'steady'))).code).toBe(0);
    const many = appRepo('static-site');
    fs.mkdirSync(path.join(many, 'empty'));
    for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(many, 'empty', `f${i}`), '');
    commitAll(many, 'five thousand empty files');
    let probing = true;
    const probes = (async () => {
      const statuses: number[] = [];
      while (probing) {
        statuses.push((await viaRouter(server, 'steady.localhost')).status);
        await sleep(20);
      }
      return statuses;
    })();
    const result = await push(many, remoteUrl(server, 'many'));
    probing = false;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('more than 2000 files and directories (WIDEMESH_MAX_SOURCE_FILES)');
    expect(result.output).not.toMatch(/app detected/);
    const statuses = await probes;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('a build that times out leaves no running container and no image behind', async () => {
    const mark = crypto.randomUUID();
    const slow = appRepo('dockerfile-app');
    const steps = [`RUN echo ${mark} > /marker`, `RUN sleep 300 # ${mark}`];
    fs.writeFileSync(path.join(slow, 'Dockerfile'), ['FROM widemesh/stack-base:bookworm', ...steps, ''].join('\n'));
    commitAll(slow, 'sleeps in a RUN step');
    const result = await push(slow, remoteUrl(server, 'sleepy'));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('took longer than 20s (WIDEMESH_BUILD_TIMEOUT)');
    const ours = async () => {
      const containers = await docker.listContainers({ all: true });
      const images = await docker.listImages({ all: true });
      const inspected = await Promise.all(
        images
          .filter((i) => !i.RepoTags?.some((t) => t !== '<none>:<none>'))
          .map((i) => docker.getImage(i.Id).inspect()),
      );
      return [
        ...containers.filter((c) => c.Command.includes(mark)).map((c) => `container ${c.Id} ${c.State}`),
        ...inspected.filter((i) => JSON.stringify(i.ContainerConfig?.Cmd).includes(mark)).map((i) => `image ${i.Id}`),
      ];
    };
    expect((await ours()).join('\n')).toBe('');
  });

  it('keeps config values sealed in the database files, and the data directory private', async () => {
    const site = appRepo('static-site');
    expect((await push(site, remoteUrl(server, 'vault'))).code).toBe(0);
    const canary = `canary-${crypto.randomUUID()}`;
    const set = await api(server, 'PATCH', '/api/apps/vault/config', { VAULT_TOKEN: canary });
    expect(set.status).toBe(200);
    expect(set.json.release.configKeys).toEqual(['VAULT_TOKEN']);
    expect((await api(server, 'GET', '/api/apps/vault/config')).json.vars).toEqual({ VAULT_TOKEN: canary });
    const db = path.join(server.dataDir, 'widemesh.db');
    const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => fs.existsSync(f));
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) expect(fs.readFileSync(file).includes(canary)).toBe(false);
    const open: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        // nginx makes its relay sockets 0666 itself: their 0700 directory is what keeps others out
        if (entry.isSocket()) continue;
        if (fs.lstatSync(file).mode & 0o077) open.push(`${file} ${(fs.lstatSync(file).mode & 0o777).toString(8)}`);
        if (entry.isDirectory()) walk(file);
      }
    };
    walk(server.dataDir);
    expect(open).toEqual([]);
    expect(fs.statSync(server.dataDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(server.dataDir, 'sockets')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(db).mode & 0o777).toBe(0o600);
  });

  it('refuses a NUL in a config value and prototype keys as config var names', async () => {
    const patch = (body: string) =>
      request(`${server.apiUrl}/api/apps/vault/config`, {
        method: 'PATCH',
        body,
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      });
    const nul = await patch('{"GREETING": "a\\u0000b"}');
    expect(nul.status).toBe(400);
    expect(JSON.parse(nul.body).error.code).toBe('INVALID_CONFIG');
    expect(JSON.parse(nul.body).error.message).toContain('NUL');
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const answer = await patch(`{"${key}": "x"}`);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toMatchObject({ code: 'INVALID_CONFIG' });
      expect(JSON.parse(answer.body).error.message).toContain(key);
    }
  });

  it('refuses unauthenticated and oversized webhook bodies without buffering them', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'hooked' })).status).toBe(201);
    const connect = { host: 'github', cloneUrl: 'http://127.0.0.1:9/hooked.git' };
    expect((await api(server, 'PUT', '/api/apps/hooked/repository', connect)).status).toBe(200);
    const pid = server.pid();
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets the peak (VmHWM) to the current size
    const before = procBytes(pid, 'VmRSS');
    const mb20 = Buffer.alloc(20 * 1024 * 1024, 'x');
    const mb30 = Buffer.alloc(30 * 1024 * 1024, 'x');
    const forged = { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-event': 'push' };
    const answers = await Promise.all([
      ...Array.from({ length: 12 }, () => post(`${server.apiUrl}/webhooks/github/nosuchapp`, mb20, forged)),
      ...Array.from({ length: 4 }, () => post(`${server.apiUrl}/webhooks/bitbucket/hooked`, mb20, forged)),
      ...Array.from({ length: 2 }, () => post(`${server.apiUrl}/webhooks/github/hooked`, mb20)),
      ...Array.from({ length: 2 }, () => post(`${server.apiUrl}/webhooks/github/hooked`, mb30, forged)),
    ]);
    const grown = procBytes(pid, 'VmHWM') - before;
    // each answer is the refusal, or a connection the server closed rather than read the body
    for (const [i, answer] of answers.entries()) {
      const refusal = i < 16 ? 404 : i < 18 ? 401 : 413;
      expect([refusal, 'EPIPE', 'ECONNRESET']).toContain(answer);
    }
    expect(answers.filter((a) => typeof a === 'number').length).toBeGreaterThan(0);
    expect(grown).toBeLessThan(64 * 1024 * 1024); // 20 bodies of 20-30 MB: buffered, they are 420 MB
  });

  it('answers a replayed signed body under a fresh delivery id as a duplicate, without deploying', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'replay' })).status).toBe(201);
    const { secret } = (
      await api(server, 'PUT', '/api/apps/replay/repository', {
        host: 'github',
        cloneUrl: 'http://127.0.0.1:9/replay.git',
      })
    ).json;
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40), deleted: false });
    const signature = `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
    const deliver = (id: string) =>
      request(`${server.apiUrl}/webhooks/github/replay`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signature, 'x-github-event': 'push', 'x-github-delivery': id },
      });
    expect((await deliver(crypto.randomUUID())).status).toBe(202);
    const replay = await deliver(crypto.randomUUID());
    expect(replay.status).toBe(200);
    expect(JSON.parse(replay.body).duplicate).toBe(true);
    const deliveries = (await api(server, 'GET', '/api/apps/replay/deliveries')).json as unknown[];
    expect(deliveries).toHaveLength(1);
  });

  it('holds memory bounded under 40 concurrent large fake-signed webhook bodies, and serves a signed one after', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'flood' })).status).toBe(201);
    const connect = { host: 'github', cloneUrl: 'http://127.0.0.1:9/flood.git' };
    const { secret } = (await api(server, 'PUT', '/api/apps/flood/repository', connect)).json;
    const pid = server.pid();
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets the peak (VmHWM) to the current size
    const before = procBytes(pid, 'VmRSS');
    const mb24 = Buffer.alloc(24 * 1024 * 1024, 'x');
    const forged = { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-event': 'push' };
    const url = `${server.apiUrl}/webhooks/github/flood`;
    const answers = await Promise.all(Array.from({ length: 40 }, () => post(url, mb24, forged)));
    const grown = procBytes(pid, 'VmHWM') - before;
    for (const answer of answers) expect([401, 503, 'EPIPE', 'ECONNRESET']).toContain(answer);
    expect(answers).toContain(503);
    expect(grown).toBeLessThan(150 * 1024 * 1024); // buffered, the bodies are 960 MB
    // the bytes held for unverified bodies are given back: a signed delivery is received
    const ping = '{"zen": "hi"}';
    const signature = `sha256=${crypto.createHmac('sha256', secret).update(ping).digest('hex')}`;
    const pong = await request(url, {
      method: 'POST',
      body: ping,
      headers: { 'x-hub-signature-256': signature, 'x-github-event': 'ping', 'x-github-delivery': 'flood-ping' },
    });
    expect(pong.status).toBe(200);
  });

  it('does not replay on the backup rack a request that killed its instance, and serves the next ones', async () => {
    const dir = appRepo('dashboard-node');
    const server_js = [
      "require('node:http')",
      '  .createServer((req, res) => {',
      "    if (req.url === '/die') process.exit(1); // dies while answering, as an out-of-memory kill would",
      "    res.end('alive');",
      '  })',
      '  .listen(process.env.PORT);',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'server.js'), server_js);
    commitAll(dir, 'a request that kills the instance');
    expect((await push(dir, remoteUrl(server, 'fragile'))).code).toBe(0);
    expect((await viaRouter(server, 'fragile.localhost')).body).toBe('alive');
    const web = () => instanceContainers(server, ['widemesh.app=fragile', 'widemesh.service=web']);
    expect(await web()).toHaveLength(2);
    const started = async () =>
      new Map(
        await Promise.all(
          (await web()).map(async (c) => [c.Id, (await docker.getContainer(c.Id).inspect()).State.StartedAt] as const),
        ),
      );
    const before = await started();
    const killing = await viaRouter(server, 'fragile.localhost', '/die');
    expect(killing.status).toBe(502);
    // the next requests are served (by the other rack, while the killed instance restarts)
    for (let i = 0; i < 10; i++) expect((await viaRouter(server, 'fragile.localhost')).body).toBe('alive');
    // one instance died; the one in the backup rack never saw the request
    const died = await until('the killed instance to be seen', async () => {
      const states = await Promise.all((await web()).map((c) => docker.getContainer(c.Id).inspect()));
      const changed = states.filter(
        (s) => s.RestartCount > 0 || !s.State.Running || s.State.StartedAt !== before.get(s.Id),
      );
      return changed.length > 0 ? changed : undefined;
    });
    expect(died).toHaveLength(1);
  });

  it("refuses an app named like another app's environment endpoint, in either order", async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'shop' })).status).toBe(201);
    const staging = { name: 'staging' };
    expect((await api(server, 'POST', '/api/apps/shop/environments', staging)).status).toBe(201);
    for (const name of ['shop-staging', 'shop-production']) {
      const refused = await api(server, 'POST', '/api/apps', { name });
      expect(refused.status).toBe(409);
      expect(refused.json.error.code).toBe('ENDPOINT_TAKEN');
    }
    // a first push creates the app: refused the same way, and nothing is made
    const result = await push(appRepo('static-site'), remoteUrl(server, 'shop-staging'));
    expect(result.code).not.toBe(0);
    expect((await api(server, 'GET', '/api/apps/shop-staging')).status).toBe(404);
    // the app first: the later app whose endpoint it is, or whose environment it would be, is refused
    expect((await api(server, 'POST', '/api/apps', { name: 'blog-production' })).status).toBe(201);
    expect((await api(server, 'POST', '/api/apps', { name: 'blog' })).json.error.code).toBe('ENDPOINT_TAKEN');
    expect((await api(server, 'POST', '/api/apps', { name: 'news-qa' })).status).toBe(201);
    expect((await api(server, 'POST', '/api/apps', { name: 'news' })).status).toBe(201);
    const qa = await api(server, 'POST', '/api/apps/news/environments', { name: 'qa' });
    expect(qa.json.error.code).toBe('ENDPOINT_TAKEN');
  });

  it('refuses prototype names as process types and list query values with 400', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'queried' })).status).toBe(201);
    for (const body of ['{"__proto__": 1}', '["__proto__=1"]', '{"constructor": 1}']) {
      const answer = await request(`${server.apiUrl}/api/apps/queried/ps/scale`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('INVALID_SCALE');
    }
    const queries = ['environment[]=a&environment[]=b', 'environment[]=staging', 'environment=a&environment=b'];
    for (const route of ['/api/apps/queried/config', '/api/apps/queried/releases', '/api/apps']) {
      for (const query of queries) {
        const answer = await api(server, 'GET', `${route}?${query}`);
        expect(answer.status).toBe(400);
        expect(answer.json.error.code).toBe('INVALID_QUERY');
      }
    }
    const logsUrl = `${server.apiUrl.replace(/^http/, 'ws')}/api/apps/queried/logs?environment[]=a&environment[]=b`;
    const status = await upgradeStatus(logsUrl, server.token);
    expect(status).toBe(400);
  });

  it('throttles failed logins and refused webhooks in buckets of their own, never a valid token or session', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'throttled' })).status).toBe(201);
    const wrongGit = () =>
      request(`${server.apiUrl}/throttled.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from('x:wrong').toString('base64')}` },
      });
    const badToken = () => request(`${server.apiUrl}/api/apps`, { headers: { authorization: 'Bearer wrong' } });
    // refused webhook deliveries use up their own bucket, not the logins'
    const hooks = await Promise.all(
      Array.from({ length: 60 }, () => request(`${server.apiUrl}/webhooks/github/nosuchapp`, { method: 'POST' })),
    );
    const limited = hooks.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThan(0);
    expect((await badToken()).status).toBe(401);
    // failed logins from this address, until it is throttled
    const logins = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? badToken() : wrongGit())));
    expect(logins.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect((await badToken()).status).toBe(429);
    const git = await wrongGit();
    expect(git.status).toBe(429);
    expect(git.headers['retry-after']).toBeDefined();
    // the admin, from the same address, is not locked out: API, git, dashboard sign-in and log stream
    expect((await api(server, 'GET', '/api/apps')).status).toBe(200);
    execFileSync('git', ['ls-remote', remoteUrl(server, 'throttled')]); // throws unless git is let in
    const { answer, cookie } = await openSession(server);
    expect(answer.status).toBe(201);
    expect((await request(`${server.apiUrl}/api/apps`, { headers: { cookie } })).status).toBe(200);
    const logsUrl = `${server.apiUrl.replace(/^http/, 'ws')}/api/apps/throttled/logs?tail=0`;
    const opened = await upgradeStatus(logsUrl, server.token);
    expect(opened).toBe(101);
  });
});

/** The status a websocket upgrade gets: 101 when it opens, else the refusal's HTTP status. */
function upgradeStatus(url: string, token: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', reject);
  });
}
