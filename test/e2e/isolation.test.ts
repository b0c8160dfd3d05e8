import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, push, remoteUrl } from '../helpers/git.ts';
import { api, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

/**
 * Instances run in network namespaces of their own (the default): a hostile app reaches
 * nothing of the platform on 127.0.0.1 and cannot take the API port from the server.
 */
describe('instances are isolated from the platform and from each other', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it("reaches none of the platform's ports and no other app, and never gets the API port", async () => {
    expect((await push(appRepo('proc-worker-only'), remoteUrl(server, 'neighbour'))).code).toBe(0);
    const ports = { api: server.apiPort, router: server.routerPort };
    expect(
      (await api(server, 'PATCH', '/api/apps/hostile/config', { PROBE_PORTS: JSON.stringify(ports) })).status,
    ).toBe(404);
    expect((await api(server, 'POST', '/api/apps', { name: 'hostile' })).status).toBe(201);
    await api(server, 'PATCH', '/api/apps/hostile/config', { PROBE_PORTS: JSON.stringify(ports) });
    const result = await push(appRepo('iso-prober'), remoteUrl(server, 'hostile'));
    expect(result.code, result.output).toBe(0);

    const report = JSON.parse((await viaRouter(server, 'hostile.localhost')).body);
    // the API port it "bound" is on its own loopback: asking it gets no HTTP answer (its own listener)
    expect(report.boundApiPort).toBe('bound');
    expect(report.reached.api).not.toMatch(/^status/);
    expect(report.reached.router).toBe('ECONNREFUSED');
    await server.kill();
    await server.restart();
    expect(
      (await request(`${server.apiUrl}/api/apps`, { headers: { authorization: `Bearer ${server.token}` } })).status,
    ).toBe(200);
    // the server took its API port back after the crash; the app still reaches none of it
    expect(JSON.parse((await viaRouter(server, 'hostile.localhost')).body).reached.api).not.toMatch(/^status/);
  });
});
