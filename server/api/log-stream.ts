import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { LogMessage, LogSource } from '../../contract/api.ts';
import { tokenOf } from '../access/auth.ts';
import type { RateLimiter } from '../access/rate-limit.ts';
import { cookieOf, isCrossSite, SESSION_COOKIE } from '../access/session.ts';
import type { LogBus } from '../logs/index.ts';
import { masker, secretsOf } from '../logs/secrets.ts';
import { isAppName } from '../names.ts';
import { RFC3339_TIME } from '../racks/rack.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { Environment, Store } from '../store/index.ts';
import type { SessionStore } from '../store/sessions.ts';
import { AppOutputHub, type Frame } from './app-output.ts';
import { streamAppLines } from './log-sources/app-lines.ts';
import { streamBuildLines } from './log-sources/build-lines.ts';
import { type LogClient, wants } from './log-sources/client.ts';
import { streamRouterLines } from './log-sources/router-lines.ts';
import { assertPlainQuery } from './lookup.ts';
import { refuseUpgrade } from './upgrade.ts';

interface LogStreamDeps {
  store: Store;
  /** Dashboard sessions: a same-origin page signed in by cookie may follow logs too. */
  sessions: SessionStore;
  logs: LogBus;
  racks: RackSet;
  logger: pino.Logger;
  /** JSON lines the edge (nginx) appends, one per routed request. */
  accessLogFile: string;
  /** Bytes a client may have unread before lines for it are dropped (and counted). */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** Failed logins count against the address, as on the rest of /api. */
  limiter?: RateLimiter;
  /** Other websocket routes (`run`), tried once the caller is authorized: true when one took the upgrade. */
  otherUpgrades?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

const LOGS_PATH = /^\/api\/apps\/([^/]+)\/logs$/;
/** Browsers cannot set headers on a websocket: they offer the token as a subprotocol instead of in the URL. */
const TOKEN_PROTOCOL = 'widemesh.token.';
const SOURCES = new Set<string>(['build', 'app', 'router', 'all']);

const isPlainQuery = (params: URLSearchParams): boolean => {
  try {
    assertPlainQuery(params.entries());
    return true;
  } catch {
    return false;
  }
};

/**
 * `GET /api/apps/:app/logs` upgraded to a websocket: build logs (replayed from the store
 * from `since`, then live), app output of every instance in every rack, and the edge's access
 * lines, as JSON messages (see log-sources/). Query: environment, source=build|app|router|all,
 * build=ID, since=SEQ (build lines after it), after=TIME (app and router lines from that RFC 3339
 * time on: a client resuming after a dropped connection passes the time of the last line it has,
 * and drops the lines it already has), tail=0|1.
 */
export function attachLogStream(server: http.Server, deps: LogStreamDeps): { close(): void } {
  const hub = new AppOutputHub();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    handleProtocols: (protocols) => (protocols.has('widemesh') ? 'widemesh' : false),
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refusal = refusalOf(deps, req);
    if (refusal) return refuseUpgrade(socket, ...refusal);
    if (deps.otherUpgrades?.(req, socket, head)) return;
    const match = LOGS_PATH.exec(url.pathname);
    if (!match || !isAppName(match[1]!)) return refuseUpgrade(socket, 404, 'Not Found');
    if (!isPlainQuery(url.searchParams)) return refuseUpgrade(socket, 400, 'Bad Request');
    const env = deps.store.apps.environment(match[1]!, url.searchParams.get('environment') ?? 'production');
    if (!env) return refuseUpgrade(socket, 404, 'Not Found');
    const params = url.searchParams;
    const after = params.get('after');
    if (after !== null && !RFC3339_TIME.test(after)) return refuseUpgrade(socket, 400, 'Bad Request');
    if (!SOURCES.has(params.get('source') ?? 'all')) return refuseUpgrade(socket, 400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = connect(ws, env, params, deps);
      if (wants(client, 'build')) streamBuildLines(client, deps);
      if (wants(client, 'router')) streamRouterLines(client, deps.accessLogFile);
      if (wants(client, 'app')) streamAppLines(client, { ...deps, hub });
    });
  });
  return {
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** Why an upgrade is refused (status, text), or undefined: a valid token, or a session from its own origin. */
function refusalOf(deps: LogStreamDeps, req: http.IncomingMessage): [number, string] | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const token = tokenOf(req) ?? offered.find((p) => p.startsWith(TOKEN_PROTOCOL))?.slice(TOKEN_PROTOCOL.length);
  // only requests nobody vouched for meet the limit: others' failures never lock a valid caller out
  const limited = () => deps.limiter !== undefined && !deps.limiter.allows(req);
  if (token === undefined) {
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (!cookie || !deps.sessions.find(cookie)) return limited() ? [429, 'Too Many Requests'] : [401, 'Unauthorized'];
    // the cookie alone would let another site's page open this socket in a signed-in browser
    if (isCrossSite(req)) return [403, 'Forbidden'];
  } else if (!deps.store.tokens.isValid(token)) {
    if (limited()) return [429, 'Too Many Requests'];
    deps.limiter?.count(req);
    return [401, 'Unauthorized'];
  }
  return undefined;
}

/**
 * The client of one socket: what it asked for, a `send` that drops (and counts) lines for a
 * client that does not read rather than slowing the producer, and a heartbeat that ends a
 * connection whose other end vanished.
 */
function connect(ws: WebSocket, env: Environment, params: URLSearchParams, deps: LogStreamDeps): LogClient {
  const maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
  const mask = masker(secretsOf(deps.store.config.get(env.id)));
  const stops: (() => void)[] = [];
  let dropped = 0;
  let closed = false;
  const send = (message: LogMessage | Frame) => {
    if (closed) return;
    if (ws.bufferedAmount > maxBuffered) {
      dropped += 1;
      return;
    }
    if (dropped > 0) {
      ws.send(JSON.stringify({ type: 'dropped', count: dropped } satisfies LogMessage));
      dropped = 0;
    }
    // a Frame is JSON already serialised once for every client (AppOutputHub)
    if (Buffer.isBuffer(message)) ws.send(message, { binary: false });
    else ws.send(JSON.stringify(message));
  };
  stops.push(heartbeat(ws, deps.heartbeatMs ?? 20_000));
  ws.on('close', () => {
    closed = true;
    for (const stop of stops) stop();
  });
  const requested = Number(params.get('build'));
  return {
    env,
    source: (params.get('source') ?? 'all') as LogSource,
    follow: params.get('tail') !== '0',
    build: Number.isInteger(requested) && requested > 0 ? requested : undefined,
    since: Math.max(0, Number(params.get('since')) || 0),
    after: params.get('after') ?? undefined,
    send,
    finish: () => {
      if (!closed) ws.close(1000, 'end of log');
    },
    onClose: (stop) => (closed ? stop() : stops.push(stop)),
    get closed() {
      return closed;
    },
    mask,
  };
}

/** Pings every `everyMs`; a client that did not answer the last ping is cut. Returns the stop. */
function heartbeat(ws: WebSocket, everyMs: number): () => void {
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const timer = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, everyMs);
  return () => clearInterval(timer);
}
