import http from 'node:http';
import https from 'node:https';
import { endpointCandidates } from '../endpoints.ts';
import type { Environment, Instance, Store } from '../store/index.ts';

/** One routed request, for the `router` log source. */
export interface AccessEntry {
  at: string;
  app: string;
  environment: string;
  method: string;
  path: string;
  status: number;
  ms: number;
}

export interface RouterOptions {
  domain: string;
  /** How long an instance that refused a connection is skipped before it is tried again. */
  quarantineMs?: number;
  onAccess?: (entry: AccessEntry) => void;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * Endpoints: `APP.DOMAIN` (production) and `APP-ENV.DOMAIN` → the instances the store
 * places for that environment, tried in rack order. An instance that refuses a connection
 * is skipped for a while and the request goes to the next rack, so one rack going down
 * costs no request that could be retried.
 */
export function createRouter(store: Store, options: RouterOptions): http.Server {
  const quarantineMs = options.quarantineMs ?? 5000;
  const unhealthyUntil = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

  let turns = 0;
  const resolve = (hostHeader: string | undefined): { env: Environment; instances: Instance[] } | undefined => {
    for (const { app, environment } of endpointCandidates(hostHeader, options.domain)) {
      const env = store.getEnvironment(app, environment);
      if (!env) continue;
      // rack order is failover order; within a rack, requests take turns across its web instances
      const turn = turns++;
      const instances = store.placements(env.id).flatMap((p) => rotate(p.instances.filter(isWeb), turn));
      return { env, instances };
    }
    return undefined;
  };

  const page = (res: http.ServerResponse, status: number, title: string, text: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>${title}</title><h1>${title}</h1><p>${text}</p>\n`);
  };

  return http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const found = resolve(req.headers.host);
    if (!found) {
      const host = (req.headers.host ?? '').replace(/[<>&"]/g, '');
      return page(
        res,
        404,
        'No app here',
        `Widemesh has no app at <b>${host}</b>. Apps answer at APP.${options.domain} or APP-ENV.${options.domain}.`,
      );
    }
    const { env, instances } = found;
    if (options.onAccess) {
      res.on('finish', () =>
        options.onAccess!({
          at: new Date().toISOString(),
          app: env.appName,
          environment: env.name,
          method: req.method ?? '',
          path: req.url ?? '',
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        }),
      );
    }
    const now = Date.now();
    const healthy = instances.filter((i) => (unhealthyUntil.get(i.id) ?? 0) <= now);
    // when every instance is quarantined, trying them all is better than refusing outright
    const order = healthy.length > 0 ? [...healthy, ...instances.filter((i) => !healthy.includes(i))] : instances;
    if (order.length === 0)
      return page(res, 503, 'Not running', 'This app has no running instance yet. Push code to deploy it.');
    // a request body can be replayed to the next rack only if we never started sending it
    const replayable =
      req.method === 'GET' ||
      req.method === 'HEAD' ||
      req.method === 'OPTIONS' ||
      req.headers['content-length'] === '0';
    forward(req, res, replayable ? order : order.slice(0, 1), 0);
  });

  function forward(req: http.IncomingMessage, res: http.ServerResponse, order: Instance[], attempt: number): void {
    const instance = order[attempt]!;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [key, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(key)) headers[key] = value;
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress].filter(Boolean).join(', ');
    headers['x-forwarded-host'] = req.headers.host;
    headers['x-forwarded-proto'] = 'http';
    // cloud services route by their own host name
    if (instance.tls) headers.host = instance.host;
    const request = instance.tls ? https.request : http.request;
    const upstream = request(
      {
        // an isolated instance is reached through its relay's socket, never over the host's network
        ...(instance.socket ? { socketPath: instance.socket } : { host: instance.host, port: instance.port }),
        method: req.method,
        path: req.url,
        headers,
        agent: instance.tls ? tlsAgent : agent,
      },
      (answer) => {
        res.writeHead(
          answer.statusCode ?? 502,
          Object.fromEntries(Object.entries(answer.headers).filter(([k]) => !HOP_BY_HOP.has(k))),
        );
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) return res.destroy();
      unhealthyUntil.set(instance.id, Date.now() + quarantineMs);
      if (attempt + 1 < order.length) return forward(req, res, order, attempt + 1);
      page(
        res,
        502,
        'App not answering',
        'No instance of this app answered. It may be restarting; try again in a moment.',
      );
    });
    if (attempt === 0 && !(req.method === 'GET' || req.method === 'HEAD')) req.pipe(upstream);
    else upstream.end();
  }
}

const isWeb = (i: Instance) => i.service === 'web';

function rotate<T>(list: T[], turn: number): T[] {
  if (list.length < 2) return list;
  const start = turn % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}
