import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AcmeCa, caddyInstalled, startAcmeCa } from '../helpers/acme-ca.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { runLoad } from '../helpers/load.ts';
import { api, docker, instanceContainers, startServer, type TestServer, viaRouter } from '../helpers/server.ts';
import { until } from '../helpers/until.ts';

/**
 * A plain Node app (no dependencies): `/` answers, `/headers` echoes what it received, `/events`
 * is an endless event stream, and any upgrade is a websocket that echoes short text frames.
 */
const APP = `const http = require('node:http');
const crypto = require('node:crypto');
const server = http.createServer((req, res) => {
  let size = 0;
  req.on('data', (c) => (size += c.length));
  req.on('end', () => {
    if (req.url === '/headers') return res.end(JSON.stringify({ headers: req.headers, bodyBytes: size }));
    if (req.url !== '/events') return res.end('hello from edgy');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const timer = setInterval(() => res.write('data: ' + n++ + '\\n\\n'), 100);
    res.on('close', () => clearInterval(timer));
  });
});
server.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
  socket.on('data', (frame) => {
    const length = frame[1] & 0x7f;
    const mask = frame.subarray(2, 6);
    const text = Buffer.from(frame.subarray(6, 6 + length).map((b, i) => b ^ mask[i % 4]));
    if ((frame[0] & 0x0f) === 0x8) return socket.end();
    socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
  });
});
server.listen(process.env.PORT);
`;

const HOST = 'edgy.localhost';
const ACME_DOMAIN = 'www.acme-edgy.test';

/** The ACME CA validates on port 80: the ACME test runs when this file's edge can take it. */
const port80Free = await new Promise<boolean>((resolve) => {
  const probe = net.createServer().once('error', () => resolve(false));
  probe.listen(80, '127.0.0.1', () => probe.close(() => resolve(true)));
});
const acmeReady = port80Free && caddyInstalled();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Raw bytes to the edge and whatever it answers until it closes or goes quiet. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setTimeout(1500, () => socket.end());
    socket.on('data', (c) => (answer += c));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the edge (nginx) in front of the apps', () => {
  let server: TestServer;
  let acmeCa: AcmeCa | undefined;
  let edgePid: number;
  const edgePidNow = () => Number(fs.readFileSync(path.join(server.dataDir, 'edge', 'nginx.pid'), 'utf8'));

  beforeAll(async () => {
    acmeCa = acmeReady ? await startAcmeCa([ACME_DOMAIN]) : undefined;
    const acmeEnv = acmeCa && {
      WIDEMESH_ROUTER_PORT: '80',
      WIDEMESH_ACME_DIRECTORY: acmeCa.directoryUrl,
      WIDEMESH_ACME_CA: acmeCa.rootFile,
    };
    server = await startServer({ WIDEMESH_DRAIN_MS: '3000', ...acmeEnv });
    const repo = appRepo('dockerfile-app');
    fs.writeFileSync(path.join(repo, 'app.js'), APP);
    commitAll(repo, 'edge test app');
    const result = await push(repo, remoteUrl(server, 'edgy'));
    if (result.code !== 0) throw new Error(result.output);
    // the push's last routing change may still be reloading: a routing call answers once the edge serves it
    await api(server, 'POST', '/api/apps/edgy/maintenance', { enabled: false });
    edgePid = edgePidNow();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    await acmeCa?.stop();
  });

  it('passes a websocket through to the app and back', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.routerPort}/socket`, {
      headers: { host: `${HOST}:${server.routerPort}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('ping through nginx');
    expect(await echoed).toBe('ping through nginx');
    ws.close();
  });

  it('forwards X-Forwarded-*, keeps a well-formed X-Request-Id, replaces a bad one, drops hop-by-hop headers', async () => {
    const ask = (headers: Record<string, string>) =>
      new Promise<{ headers: Record<string, string>; responseId: string }>((resolve, reject) => {
        http
          .get(
            {
              port: server.routerPort,
              host: '127.0.0.1',
              path: '/headers',
              agent: false,
              headers: { host: `${HOST}:${server.routerPort}`, ...headers },
            },
            (res) => {
              let body = '';
              res.on('data', (c) => (body += c));
              res.on('end', () =>
                resolve({ headers: JSON.parse(body).headers, responseId: String(res.headers['x-request-id']) }),
              );
            },
          )
          .on('error', reject);
      });
    const kept = await ask({ 'x-request-id': 'req-0123456789abcdef', 'x-forwarded-for': '203.0.113.9' });
    expect(kept.headers).toMatchObject({
      'x-forwarded-proto': 'http',
      'x-forwarded-host': HOST,
      'x-forwarded-port': String(server.routerPort),
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-request-id': 'req-0123456789abcdef',
    });
    expect(kept.responseId).toBe('req-0123456789abcdef');
    const replaced = await ask({ 'x-request-id': 'bad id <script>', 'keep-alive': 'timeout=5', te: 'trailers' });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(replaced.headers).not.toHaveProperty('keep-alive');
    expect(replaced.headers).not.toHaveProperty('te');
    const other = await ask({});
    expect(other.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(other.headers['x-request-id']).not.toBe(replaced.headers['x-request-id']);
  });

  it('refuses a request with both Content-Length and Transfer-Encoding; a GET with a body pins nothing', async () => {
    const smuggled = await rawExchange(
      server.routerPort,
      `POST /headers HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    );
    expect(smuggled).toMatch(/^HTTP\/1\.1 400 /);
    expect(smuggled.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    // a GET carrying a body: the body reaches the app, and the next request on the connection is answered
    const twice = await rawExchange(
      server.routerPort,
      `GET /headers HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    );
    expect(twice.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(twice).toContain('"bodyBytes":5');
    expect(twice).toContain('hello from edgy');
    const load = await runLoad({ port: server.routerPort, host: HOST, connections: 20, durationMs: 1000 });
    expect(load.failures).toEqual([]);
  });

  it('answers 503 with Retry-After in maintenance mode, leaves the instances alone, and comes back', async () => {
    const on = await api(server, 'POST', '/api/apps/edgy/maintenance', { enabled: true });
    expect(on.status).toBe(200);
    const page = await viaRouter(server, HOST);
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('120');
    expect(page.body).toContain('maintenance');
    expect((await api(server, 'GET', '/api/apps/edgy/maintenance')).json).toEqual({ enabled: true });
    const running = await instanceContainers(server, ['widemesh.app=edgy']);
    expect(running.filter((c) => c.State === 'running')).toHaveLength(2);
    expect((await api(server, 'POST', '/api/apps/edgy/maintenance', { enabled: 'yes' })).status).toBe(400);
    await api(server, 'POST', '/api/apps/edgy/maintenance', { enabled: false });
    expect((await viaRouter(server, HOST)).body).toBe('hello from edgy');
  });

  it('keeps an event stream open across a routing change until the drain time ends', async () => {
    const events: string[] = [];
    let ended = false;
    const req = http.get({
      port: server.routerPort,
      host: '127.0.0.1',
      path: '/events',
      agent: false,
      headers: { host: HOST, accept: 'text/event-stream' },
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => events.push(...c.split('\n\n').filter(Boolean)));
      res.on('close', () => (ended = true));
    });
    req.on('error', () => (ended = true));
    // events arrive one by one (nothing buffers them)
    await until('the first events', async () => events.length >= 3);
    const before = fs.readFileSync(path.join(server.dataDir, 'edge', 'nginx.conf'), 'utf8');
    const reloaded = await api(server, 'POST', '/api/apps/edgy/domains', { name: 'events.edgy-shop.test' });
    expect(reloaded.status).toBe(201);
    expect(fs.readFileSync(path.join(server.dataDir, 'edge', 'nginx.conf'), 'utf8')).not.toBe(before);
    const atReload = events.length;
    await until('events after the reload', async () => events.length >= atReload + 5);
    expect(ended).toBe(false);
    // the old worker closes the stream when worker_shutdown_timeout (the drain time) ends
    await until('the stream to end', async () => ended, 30_000);
    expect(events.length).toBeGreaterThan(atReload + 5);
    req.destroy();
    await api(server, 'DELETE', '/api/apps/edgy/domains/events.edgy-shop.test');
  });

  it("serves every request sent after one rack's instances are killed under load", async () => {
    const connections = 10;
    const loading = runLoad({ port: server.routerPort, host: HOST, connections, durationMs: 2000 });
    await sleep(1000);
    const instances = await instanceContainers(server, ['widemesh.app=edgy', 'widemesh.rack=local-a']);
    expect(instances.length).toBeGreaterThan(0);
    await Promise.all(instances.map((c) => docker.getContainer(c.Id).kill()));
    // a request in flight when its instance died is not replayed (it may be what killed it), as on Heroku
    const during = await loading;
    expect(during.failures.length).toBeLessThanOrEqual(connections);
    const after = await runLoad({ port: server.routerPort, host: HOST, connections, durationMs: 2000 });
    expect(after.failures).toEqual([]);
    expect(after.requests).toBeGreaterThan(50);
  });

  it('keeps serving while the server is killed with SIGKILL and restarted, and adopts the same nginx', async () => {
    const loading = runLoad({ port: server.routerPort, host: HOST, connections: 4, durationMs: 3000 });
    await sleep(300);
    await server.kill();
    expect((await viaRouter(server, HOST)).body).toBe('hello from edgy');
    const load = await loading;
    await server.restart();
    expect(load.failures).toEqual([]);
    expect(edgePidNow()).toBe(edgePid);
    expect((await viaRouter(server, HOST)).body).toBe('hello from edgy');
  });

  it('serves a custom domain over HTTPS with a user certificate, and redirects HTTP to it', async () => {
    const domain = 'www.edgy-shop.test';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-cert-'));
    const selfSigned = (name: string) => {
      const { certificate, key } = selfSignedCert(dir, name, 3);
      return { certificate, key };
    };
    expect((await api(server, 'POST', '/api/apps/edgy/domains', { name: 'edgy.localhost' })).status).toBe(400);
    expect((await api(server, 'POST', '/api/apps/edgy/domains', { name: domain })).status).toBe(201);
    expect((await api(server, 'POST', '/api/apps/edgy/domains', { name: domain })).status).toBe(409);
    // attached, no certificate yet: served over HTTP
    expect((await viaRouter(server, domain)).body).toBe('hello from edgy');
    const wrong = await api(server, 'PUT', `/api/apps/edgy/domains/${domain}/cert`, selfSigned('other.test'));
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('INVALID_CERTIFICATE');
    const cert = selfSigned(domain);
    const put = await api(server, 'PUT', `/api/apps/edgy/domains/${domain}/cert`, cert);
    expect(put.status).toBe(200);
    expect(put.json.certificate.state).toBe('active');
    expect(JSON.stringify((await api(server, 'GET', '/api/apps/edgy/domains')).json)).not.toContain('PRIVATE KEY');
    const keyFile = path.join(server.dataDir, 'edge', 'certs', `${domain}.key`);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const db = fs.readFileSync(path.join(server.dataDir, 'widemesh.db'));
    expect(db.includes(cert.key.split('\n')[1]!)).toBe(false);

    const secure = await new Promise<{ status: number; body: string; proto: string }>((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: server.httpsPort,
            path: '/headers',
            servername: domain,
            ca: cert.certificate,
            headers: { host: domain },
            agent: false,
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, body, proto: JSON.parse(body).headers['x-forwarded-proto'] }),
            );
          },
        )
        .on('error', reject);
    });
    expect(secure.status).toBe(200);
    expect(secure.proto).toBe('https');

    await api(server, 'POST', '/api/apps/edgy/https-redirect', { enabled: true });
    const redirected = await viaRouter(server, domain, '/a?b=1');
    expect(redirected.status).toBe(308);
    expect(redirected.headers.location).toBe(`https://${domain}:${server.httpsPort}/a?b=1`);
    // platform names have no certificate here: they keep answering over HTTP
    expect((await viaRouter(server, HOST)).body).toBe('hello from edgy');
    expect((await api(server, 'DELETE', `/api/apps/edgy/domains/${domain}`)).status).toBe(200);
    expect((await viaRouter(server, domain)).status).toBe(404);
    expect(fs.existsSync(keyFile)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!acmeReady)('gets a certificate from an ACME CA by HTTP-01 and serves the domain over HTTPS', async () => {
    expect((await api(server, 'POST', '/api/apps/edgy/domains', { name: ACME_DOMAIN })).status).toBe(201);
    const issued = await api(server, 'POST', `/api/apps/edgy/domains/${ACME_DOMAIN}/acme`);
    expect(issued.status).toBe(200);
    expect(issued.json.certificate).toMatchObject({ state: 'active', source: 'acme' });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: server.httpsPort,
            servername: ACME_DOMAIN,
            headers: { host: ACME_DOMAIN },
            ca: fs.readFileSync(acmeCa!.rootFile),
            agent: false,
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        )
        .on('error', reject);
    });
    expect(answer).toEqual({ status: 200, body: 'hello from edgy' });
  });
});
