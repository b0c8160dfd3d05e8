import crypto from 'node:crypto';
import http from 'node:http';
import type Docker from 'dockerode';
import { freePort } from '../helpers/net.ts';

/**
 * What the cloud emulators run services on: each revision is a container on the local
 * Docker (host network, its own loopback port), behind one stable per-service proxy,
 * as a cloud service's URL stays the same across revisions.
 */
export class LocalServiceHost {
  private readonly services = new Map<
    string,
    { proxy: http.Server; port: number; target?: { port: number; container: string } }
  >();

  constructor(
    private readonly docker: Docker,
    private readonly label: string,
  ) {}

  /** Starts `image` as the service's next revision; resolves when it answers, rejects (and cleans up) when it does not. */
  async runRevision(
    service: string,
    image: string,
    env: Record<string, string>,
    readyTimeoutMs: number,
  ): Promise<void> {
    await this.pull(image);
    const port = await freePort();
    const container = await this.docker.createContainer({
      Image: image,
      Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `PORT=${port}`],
      Labels: { [this.label]: service },
      HostConfig: { NetworkMode: 'host', Init: true },
    });
    await container.start();
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await answers(port))) {
      if (Date.now() > deadline) {
        await container.remove({ force: true }).catch(() => {});
        throw new Error('the revision did not become ready');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const entry = await this.entry(service);
    const old = entry.target;
    entry.target = { port, container: container.id };
    if (old)
      await this.docker
        .getContainer(old.container)
        .remove({ force: true })
        .catch(() => {});
  }

  async url(service: string): Promise<string> {
    return `http://127.0.0.1:${(await this.entry(service)).port}`;
  }

  async remove(service: string): Promise<void> {
    const entry = this.services.get(service);
    if (!entry) return;
    entry.proxy.close();
    if (entry.target)
      await this.docker
        .getContainer(entry.target.container)
        .remove({ force: true })
        .catch(() => {});
    this.services.delete(service);
  }

  async close(): Promise<void> {
    for (const service of [...this.services.keys()]) await this.remove(service);
  }

  private async entry(service: string) {
    let entry = this.services.get(service);
    if (!entry) {
      const port = await freePort();
      const created: { proxy: http.Server; port: number; target?: { port: number; container: string } } = {
        proxy: http.createServer(),
        port,
      };
      created.proxy.on('request', (req, res) => {
        if (!created.target) {
          res.writeHead(503);
          return void res.end('no ready revision');
        }
        const upstream = http.request(
          { host: '127.0.0.1', port: created.target.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        req.pipe(upstream);
      });
      await new Promise<void>((r) => created.proxy.listen(port, '127.0.0.1', () => r()));
      this.services.set(service, created);
      entry = created;
    }
    return entry;
  }

  private async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
    );
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Starts an emulator's HTTP server on a loopback port and hands back its controls. */
export async function listenEmulator<F, S>(server: http.Server, host: LocalServiceHost, faults: F, services: S) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    faults,
    services,
    async close() {
      server.close();
      await host.close();
    },
  };
}

/** ECR's GetAuthorizationToken (awsJson1_1), which AWS racks call before pushing; false for any other request. */
export function answerEcrToken(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  ecr: { tokensIssued: number },
): boolean {
  if (req.headers['x-amz-target'] !== 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') return false;
  ecr.tokensIssued += 1;
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() });
  res.end(
    JSON.stringify({
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:ecr-token-${ecr.tokensIssued}`).toString('base64'),
          expiresAt: Date.now() / 1000 + 12 * 3600,
          proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
        },
      ],
    }),
  );
  return true;
}
