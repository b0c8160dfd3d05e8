import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, signIn, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

interface Message {
  type: string;
  source?: string;
  seq?: number;
  line?: string;
  ok?: boolean;
  rack?: string;
  instance?: string;
  service?: string;
  count?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logSocket(server: TestServer, app: string, query: string, token: string | null = server.token): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${server.apiPort}/api/apps/${app}/logs?${query}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

/** Collects messages until the server closes the socket (or `until` says stop). */
function collect(ws: WebSocket, until?: (m: Message[]) => boolean): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const messages: Message[] = [];
    let done = false;
    ws.on('message', (data) => {
      // messages already in flight when we close are not part of what this reader took
      if (done) return;
      messages.push(JSON.parse(String(data)));
      if (until?.(messages)) {
        done = true;
        ws.close();
        resolve(messages);
      }
    });
    ws.on('close', () => resolve(messages));
    ws.on('error', reject);
  });
}

describe('live logs over a websocket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it('refuses a connection without a valid token before the upgrade', async () => {
    for (const token of [null, 'wm_wrong']) {
      const status = await new Promise<number>((resolve) => {
        const ws = logSocket(server, 'anything', 'source=build', token);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(status).toBe(401);
    }
  });

  it('replays a running build from the start, follows it live, and resumes with since= without gaps or repeats', async () => {
    const repo = appRepo('dockerfile-app');
    fs.writeFileSync(
      path.join(repo, 'Dockerfile'),
      [
        'FROM widemesh/stack-node:22',
        `RUN for i in 1 2 3 4 5 6; do echo "counting $i ${Date.now()}"; sleep 0.5; done`,
        'WORKDIR /srv',
        'COPY app.js .',
        'CMD ["node", "app.js"]',
        '',
      ].join('\n'),
    );
    commitAll(repo, 'slow build');
    const pushing = push(repo, remoteUrl(server, 'counter'));
    let buildId: number | undefined;
    for (let i = 0; i < 100 && !buildId; i++) {
      const builds = await api(server, 'GET', '/api/apps/counter/builds').catch(() => undefined);
      if (builds?.status === 200 && builds.json[0]) buildId = builds.json[0].id;
      else await sleep(100);
    }
    expect(buildId).toBeDefined();
    await sleep(1200); // mid-build: some lines exist already

    // a reader that stops early, a reader that never reads, and one that resumes where the first stopped
    const quitter = await collect(
      logSocket(server, 'counter', `source=build&build=${buildId}`),
      (m) => m.filter((x) => x.type === 'line').length >= 5,
    );
    const stalled = logSocket(server, 'counter', `source=build&build=${buildId}`);
    stalled.on('open', () => (stalled as unknown as { _socket: { pause(): void } })._socket.pause());
    const lastSeq = quitter.filter((m) => m.type === 'line').at(-1)!.seq!;
    const rest = await collect(logSocket(server, 'counter', `source=build&build=${buildId}&since=${lastSeq}`));
    const result = await pushing;
    expect(result.code).toBe(0);

    const seqs = [...quitter, ...rest].filter((m) => m.type === 'line').map((m) => m.seq);
    const stored = await api(server, 'GET', `/api/apps/counter/builds/${buildId}/log`);
    expect(seqs).toEqual(stored.json.lines.map((l: { seq: number }) => l.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(rest.some((m) => m.line?.includes('counting 6'))).toBe(true);
    expect(rest.at(-1)).toMatchObject({ type: 'end', ok: true });
    stalled.terminate();
  });

  it('tails app output from every rack, masking config var values', async () => {
    const repo = appRepo('node-express-npm');
    fs.writeFileSync(
      path.join(repo, 'server.js'),
      `const express = require('express');
const app = express();
app.get('*', (req, res) => { console.log('hit ' + req.url + ' token=' + process.env.API_TOKEN); res.send('ok'); });
app.listen(process.env.PORT);
`,
    );
    commitAll(repo, 'logging app');
    expect((await push(repo, remoteUrl(server, 'chatty'))).code).toBe(0);
    expect((await api(server, 'PATCH', '/api/apps/chatty/config', { API_TOKEN: 'sup3r-s3cret-value' })).status).toBe(
      200,
    );

    const ws = logSocket(server, 'chatty', 'source=app');
    await new Promise((r) => ws.on('open', r));
    await sleep(1500); // attached to the instances
    const marker = `/ping-${Date.now()}`;
    const lines = collect(ws, (m) => m.some((x) => x.line?.includes(marker)));
    for (let i = 0; i < 4; i++) expect((await viaRouter(server, 'chatty.localhost', marker)).status).toBe(200);
    const seen = await lines;
    const hit = seen.find((m) => m.line?.includes(marker))!;
    expect(hit).toMatchObject({ type: 'line', source: 'app', service: 'web' });
    expect(['local-a', 'local-b']).toContain(hit.rack);
    expect(hit.line).toContain('token=[redacted]');
    expect(JSON.stringify(seen)).not.toContain('sup3r-s3cret-value');
  });

  it('resumes app output after a dropped connection with after=, missing nothing said meanwhile', async () => {
    const first = logSocket(server, 'chatty', 'source=app');
    await new Promise((r) => first.on('open', r));
    await sleep(1500); // attached to the instances
    const before = `/before-${Date.now()}`;
    const seenBefore = collect(first, (m) => m.some((x) => x.line?.includes(before)));
    await viaRouter(server, 'chatty.localhost', before);
    const last = (await seenBefore).at(-1) as Message & { at: string };
    // while nobody listens
    const meanwhile = `/meanwhile-${Date.now()}`;
    for (let i = 0; i < 3; i++) await viaRouter(server, 'chatty.localhost', `${meanwhile}-${i}`);
    const resumed = collect(logSocket(server, 'chatty', `source=app&after=${encodeURIComponent(last.at)}`), (m) =>
      [0, 1, 2].every((i) => m.some((x) => x.line?.includes(`${meanwhile}-${i}`))),
    );
    const lines = (await resumed) as (Message & { at: string })[];
    expect(lines.every((m) => Date.parse(m.at) >= Date.parse(last.at))).toBe(true);
    expect(lines.filter((m) => m.line?.includes(before)).length).toBeLessThanOrEqual(1);
  });

  it('lets a dashboard session follow logs from its own origin only', async () => {
    const { cookie } = await signIn(server);
    const statusOf = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.apiPort}/api/apps/chatty/logs?source=router`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => {});
      });
    expect(await statusOf({ cookie, origin: `http://127.0.0.1:${server.apiPort}` })).toBe(101);
    expect(await statusOf({ cookie, origin: 'http://evil.example' })).toBe(403);
    expect(await statusOf({ cookie: 'widemesh_session=forged' })).toBe(401);
  });

  it('streams router access lines for the app', async () => {
    const ws = logSocket(server, 'chatty', 'source=router');
    await new Promise((r) => ws.on('open', r));
    const marker = `/routed-${Date.now()}`;
    const lines = collect(ws, (m) => m.some((x) => x.line?.includes(marker)));
    await viaRouter(server, 'chatty.localhost', marker);
    await viaRouter(server, 'nothing.localhost', marker); // another host: not this app's line
    const hit = (await lines).find((m) => m.line?.includes(marker)) as Message & { status: number; method: string };
    expect(hit).toMatchObject({ type: 'line', source: 'router', method: 'GET', status: 200 });
    expect(hit.line).toMatch(new RegExp(`^GET ${marker} 200 [0-9.]+ms$`));
  });

  it('goes on with each new build of the environment in a continuous tail (source=all)', async () => {
    const ws = logSocket(server, 'chatty', 'source=all');
    await new Promise((r) => ws.on('open', r));
    const before = (await api(server, 'GET', '/api/apps/chatty/builds')).json[0].id as number;
    const lines = collect(ws, (m) => m.some((x) => x.type === 'end' && (x as { build?: number }).build! > before));
    const repo = appRepo('node-express-npm');
    fs.writeFileSync(path.join(repo, 'server.js'), `${fs.readFileSync(path.join(repo, 'server.js'), 'utf8')}\n// v2\n`);
    commitAll(repo, 'another build');
    expect((await push(repo, remoteUrl(server, 'chatty'), '+main:main')).code).toBe(0);
    const seen = (await lines) as (Message & { build?: number })[];
    const next = seen.filter((m) => m.source === 'build' && m.build! > before);
    expect(next.some((m) => m.line?.includes('Building image'))).toBe(true);
    expect(next.at(-1)).toMatchObject({ type: 'end', ok: true });

    // a tail that resumes at the older build also gets the one that ran while it was away
    const resumed = (await collect(logSocket(server, 'chatty', `source=all&build=${before}&since=100000`), (m) =>
      m.some((x) => x.type === 'end' && (x as { build?: number }).build! > before),
    )) as (Message & { build?: number })[];
    expect(resumed.some((m) => m.build! > before && m.line?.includes('Building image'))).toBe(true);
  });

  it('resumes router lines with after=, from the time of the last line the client has', async () => {
    const first = logSocket(server, 'chatty', 'source=router');
    await new Promise((r) => first.on('open', r));
    const seen = `/seen-${Date.now()}`;
    const lines = collect(first, (m) => m.some((x) => x.line?.includes(seen)));
    await viaRouter(server, 'chatty.localhost', seen);
    const last = (await lines).at(-1) as Message & { at: string };
    expect(last.at).toMatch(/\.\d{3}Z$/); // milliseconds: requests in the same second stay apart
    const missed = `/missed-${Date.now()}`;
    await viaRouter(server, 'chatty.localhost', missed);
    const resumed = await collect(
      logSocket(server, 'chatty', `source=router&after=${encodeURIComponent(last.at)}`),
      (m) => m.some((x) => x.line?.includes(missed)),
    );
    expect(resumed.some((m) => m.line?.includes(missed))).toBe(true);
    expect(resumed.every((m) => Date.parse((m as Message & { at: string }).at) >= Date.parse(last.at))).toBe(true);
  });
});

describe('a client that does not read', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  /** Every message that arrives within `ms`. */
  const during = (ws: WebSocket, ms: number, stopWhen: (m: Message[]) => boolean) =>
    new Promise<Message[]>((resolve) => {
      const messages: Message[] = [];
      const done = () => {
        ws.off('message', onMessage);
        clearTimeout(timer);
        resolve(messages);
      };
      const onMessage = (data: WebSocket.RawData) => {
        messages.push(JSON.parse(String(data)));
        if (stopWhen(messages)) done();
      };
      const timer = setTimeout(done, ms);
      ws.on('message', onMessage);
    });

  it('loses lines with a "dropped" marker instead of growing memory, while another client keeps up', async () => {
    const repo = appRepo('node-express-npm');
    fs.writeFileSync(
      path.join(repo, 'server.js'),
      `const express = require('express');
const app = express();
app.get('/flood', (req, res) => { for (let i = 0; i < 20000; i++) console.log('flood line ' + i + ' ' + 'x'.repeat(150)); console.log('flood done'); res.send('ok'); });
app.get('/', (req, res) => { console.log('tick'); res.send('ok'); });
app.listen(process.env.PORT);
`,
    );
    commitAll(repo, 'flood');
    expect((await push(repo, remoteUrl(server, 'flood'))).code).toBe(0);

    const slow = logSocket(server, 'flood', 'source=app');
    const fast = logSocket(server, 'flood', 'source=app');
    await Promise.all([new Promise((r) => slow.on('open', r)), new Promise((r) => fast.on('open', r))]);
    const socket = (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    await sleep(1500);
    const fastSeen = during(fast, 30_000, (m) => m.some((x) => x.line === 'flood done'));
    expect((await viaRouter(server, 'flood.localhost', '/flood')).status).toBe(200);
    expect((await fastSeen).filter((m) => m.type === 'line').length).toBeGreaterThan(5000);

    // the stalled client resumes: before its next line it is told how many it missed
    const slowSeen = during(slow, 30_000, (m) => m.some((x) => x.type === 'dropped'));
    socket.resume();
    for (let i = 0; i < 60; i++) {
      await viaRouter(server, 'flood.localhost', '/');
      await sleep(200);
      if ((await Promise.race([slowSeen, sleep(0).then(() => undefined)])) !== undefined) break;
    }
    const seen = await slowSeen;
    expect(seen.find((m) => m.type === 'dropped')?.count).toBeGreaterThan(0);
    fast.terminate();
    slow.terminate();
  });
});
