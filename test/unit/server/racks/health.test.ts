import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthCheck } from '../../../../buildpacks/app-json.ts';
import { WidemeshError } from '../../../../server/errors.ts';
import { appJsonChecks, defaultCheck, type HttpTarget, type Probe } from '../../../../server/racks/health.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An app on a loopback port (or a unix socket, as a relay offers it) answering `status` and `body`. */
async function app(status: number, body: string, socketPath?: string): Promise<HttpTarget> {
  const server = http.createServer((_req, res) => res.writeHead(status).end(body));
  servers.push(server);
  if (socketPath) {
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return { socketPath };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port };
}

/** A running instance at `target` whose uptime grows by a second at each look. */
function probe(target: HttpTarget | undefined, crashed = false): Probe {
  let uptime = 0;
  return {
    target,
    assertRunning: async () => {
      if (crashed) throw new WidemeshError('INSTANCE_CRASHED', 'the web process exited (code 1)');
    },
    uptimeSeconds: async () => uptime++,
    // listening: something accepts a connection at the target
    listening: () =>
      new Promise<boolean>((resolve) => {
        if (!target) return resolve(false);
        const socket = 'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, '127.0.0.1');
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
        socket.once('close', () => socket.destroy());
        socket.once('connect', () => socket.end());
      }),
  };
}

const check = (c: Partial<HealthCheck>): HealthCheck => ({
  initialDelay: 0,
  timeout: 2,
  attempts: 2,
  wait: 0,
  uptime: 0,
  ...c,
});

describe('default health check', () => {
  it('passes a web process that answers below 500, even a 404', async () => {
    await expect(defaultCheck(probe(await app(404, 'nope')), 'web', 5000)).resolves.toBeUndefined();
  });

  it('reaches an isolated instance through its relay socket', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-health-'));
    try {
      const target = await app(200, 'ok', path.join(dir, 'relay.sock'));
      await expect(defaultCheck(probe(target), 'web', 5000)).resolves.toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes a service without a port once it stayed up 3 seconds', async () => {
    const worker = probe(undefined);
    await defaultCheck(worker, 'worker', 60_000);
    expect(await worker.uptimeSeconds()).toBe(4); // looked at 0, 1, 2, 3 s
  });

  it('stops at a crash instead of waiting for the deadline', async () => {
    await expect(defaultCheck(probe(undefined, true), 'worker', 60_000)).rejects.toMatchObject({
      code: 'INSTANCE_CRASHED',
    });
  });
});

describe('app.json health checks', () => {
  it('passes when the answer has the content asked for', async () => {
    const target = await app(200, 'status: ready');
    await expect(
      appJsonChecks(probe(target), 'web', [check({ path: '/', content: 'ready' })]),
    ).resolves.toBeUndefined();
  });

  it('fails after its attempts, saying why the last one failed', async () => {
    const target = await app(200, 'starting');
    await expect(appJsonChecks(probe(target), 'web', [check({ path: '/health', content: 'ready' })])).rejects.toThrow(
      'the web health check (GET /health, app.json) failed 2 times: the answer lacks "ready"',
    );
    const erroring = await app(503, 'down');
    await expect(appJsonChecks(probe(erroring), 'web', [check({ path: '/' })])).rejects.toThrow('status 503');
  });

  it('waits for uptime, and refuses a path check on a service without a port', async () => {
    await expect(appJsonChecks(probe(undefined), 'worker', [check({ uptime: 1 })])).resolves.toBeUndefined();
    await expect(appJsonChecks(probe(undefined), 'worker', [check({ uptime: 5 })])).rejects.toThrow(
      'the worker health check (uptime 5s, app.json) failed 2 times: up 1.0s of 5s',
    );
    await expect(appJsonChecks(probe(undefined), 'worker', [check({ path: '/' })])).rejects.toThrow(
      'a path check needs a web process (it has no port)',
    );
  });
});
