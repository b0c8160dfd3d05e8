import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, type PushResult, push, remoteUrl } from '../helpers/git.ts';
import { startServer, type TestServer, viaRouter } from '../helpers/server.ts';

/** Fixture → app name. Two lanes of pushes run side by side (the machine has two cores). */
const LANES = [
  [
    ['node-nestjs', 'fw-nest'],
    ['node-react-router', 'fw-router'],
  ],
  [
    ['node-astro', 'fw-astro'],
    ['node-fastify', 'fw-fastify'],
    ['node-socketio', 'fw-socketio'],
  ],
];

let server: TestServer;
const deploys = new Map<string, Promise<PushResult>>();

/** Starts every push now; each test waits for its own, so the slow builds overlap the checks. */
function pushAll(): void {
  for (const lane of LANES) {
    let previous: Promise<unknown> = Promise.resolve();
    for (const [fixture, app] of lane) {
      const deployed = previous.then(() => push(appRepo(fixture!), remoteUrl(server, app!)));
      deploys.set(app!, deployed);
      previous = deployed.catch(() => undefined);
    }
  }
}

async function deployed(app: string): Promise<string> {
  const result = await deploys.get(app)!;
  expect(result.code, result.output).toBe(0);
  return result.output;
}

const page = (app: string, route = '/') => viaRouter(server, `${app}.localhost`, route, 15_000);

beforeAll(async () => {
  // Heroku's boot timeout (60 s): framework servers take a while to start on this shared, loaded machine
  server = await startServer({ WIDEMESH_HEALTHCHECK_TIMEOUT: '60' });
  pushAll();
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(deploys.values());
  await server?.cleanup();
}, 120_000);

describe('framework apps deploy unchanged', () => {
  it('runs a NestJS app built by nest build with its start:prod script (the CLI is pruned)', {
    timeout: 600_000,
  }, async () => {
    const output = await deployed('fw-nest');
    expect(output).toContain('NestJS: "start" runs the Nest CLI (nest start)');
    expect(output).toContain('web: npm run start:prod');
    expect(output).toContain('npm prune --omit=dev');
    expect(await page('fw-nest')).toMatchObject({ status: 200, body: 'hello from nestjs v1' });
    const greeting = await page('fw-nest', '/greet/widemesh');
    expect(JSON.parse(greeting.body)).toEqual({ greeting: 'hello widemesh' });
  });

  it('serves React Router in framework mode with react-router-serve: server-rendered loaders and built assets', {
    timeout: 600_000,
  }, async () => {
    const output = await deployed('fw-router');
    expect(output).toContain('build script: react-router build');
    const home = await page('fw-router');
    expect(home.status).toBe(200);
    expect(home.body).toContain('<title>Widemesh React Router</title>');
    expect(home.body).toContain('hello from react-router v1');
    const item = await page('fw-router', '/items/42');
    expect(item.body).toMatch(/item <!-- -->42<!-- --> rendered by <!-- -->node v\d+/);
    const asset = /\/assets\/[\w.-]+\.js/.exec(home.body)?.[0];
    expect(asset, home.body).toBeDefined();
    const script = await page('fw-router', asset);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
  });

  it("serves Astro's standalone Node server, told to bind every address", { timeout: 600_000 }, async () => {
    const output = await deployed('fw-astro');
    expect(output).toContain('Astro with @astrojs/node: HOST=0.0.0.0');
    for (const route of ['/', '/?from=edge']) {
      const answer = await page('fw-astro', route);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('hello from astro v1, rendered for /');
    }
    expect((await page('fw-astro', '/no-such-page')).status).toBe(404);
  });

  it('reaches a Fastify app that binds only its loopback (Fastify’s default)', { timeout: 600_000 }, async () => {
    await deployed('fw-fastify');
    expect(await page('fw-fastify')).toMatchObject({ status: 200, body: 'hello from fastify v1' });
    const echo = await page('fw-fastify', '/echo/widemesh');
    expect(JSON.parse(echo.body)).toEqual({ word: 'widemesh', host: `fw-fastify.localhost:${server.routerPort}` });
  });

  it('carries Socket.IO through the edge over a websocket and over long polling', { timeout: 600_000 }, async () => {
    await deployed('fw-socketio');
    expect((await page('fw-socketio')).body).toBe('hello from socket.io v1\n');
    for (const transport of ['websocket', 'polling'] as const) {
      const answer = await shout('fw-socketio', transport, 'hello');
      expect(answer).toEqual({ text: 'HELLO', transport });
    }
  });
});

/** Connects the real socket.io client to an app through the edge with one transport, and asks it once. */
async function shout(app: string, transport: 'websocket' | 'polling', text: string): Promise<unknown> {
  // every name resolves to the edge's loopback address, so the client sends the app's own Host header
  const agent = new http.Agent({
    lookup: (_host: string, options: { all?: boolean }, done: (...answer: unknown[]) => void) =>
      options.all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4),
  } as http.AgentOptions);
  const socket: Socket = io(`http://${app}.localhost:${server.routerPort}`, {
    transports: [transport],
    upgrade: false,
    reconnection: false,
    agent: agent as unknown as string,
  });
  try {
    return await socket.timeout(15_000).emitWithAck('shout', text);
  } finally {
    socket.close();
    agent.destroy();
  }
}
