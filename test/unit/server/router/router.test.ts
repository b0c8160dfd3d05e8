import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createRouter } from '../../../../server/router/router.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

const temp = useTempStore();

describe('router', () => {
  const upstreams: http.Server[] = [];
  afterEach(() => {
    for (const s of upstreams) s.close();
  });

  const upstream = async (body: string) => {
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    upstreams.push(server);
    return (server.address() as { port: number }).port;
  };
  const get = (port: number, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', headers: { host }, agent: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
        .on('error', reject);
    });

  it('routes APP and APP-ENV hosts, fails over to the next rack and 404s unknown hosts', async () => {
    const store = temp.store();
    store.createApp('my-shop');
    const env = store.getEnvironment('my-shop', 'production')!;
    const release = store.createRelease({
      environmentId: env.id,
      buildId: null,
      image: 'i',
      processes: {},
      config: {},
      manifest: {},
      description: 'd',
    });
    const deadPort = await upstream('never');
    upstreams.pop()!.close();
    const livePort = await upstream('from b');
    store.setPlacement({
      environmentId: env.id,
      rack: 'local-a',
      releaseId: release.id,
      instances: [{ id: 'a', service: 'web', host: '127.0.0.1', port: deadPort }],
    });
    store.setPlacement({
      environmentId: env.id,
      rack: 'local-b',
      releaseId: release.id,
      instances: [{ id: 'b', service: 'web', host: '127.0.0.1', port: livePort }],
    });
    const router = createRouter(store, { domain: 'example.test' });
    await new Promise<void>((r) => router.listen(0, '127.0.0.1', () => r()));
    const port = (router.address() as { port: number }).port;
    try {
      expect(await get(port, 'my-shop.example.test')).toEqual({ status: 200, body: 'from b' });
      expect(await get(port, 'my-shop-production.example.test:80')).toEqual({ status: 200, body: 'from b' });
      const unknown = await get(port, 'nope.example.test');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toContain('no app at');
      expect((await get(port, 'my-shop.other.test')).status).toBe(404);
    } finally {
      router.close();
    }
  });
});
