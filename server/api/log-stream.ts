import fs from 'node:fs';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { errorMessage } from '../errors.ts';
import { type LogBus, maskSecrets, secretsOf } from '../logs/index.ts';
import { isAppName } from '../names.ts';
import { RFC3339_TIME } from '../racks/rack.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { Build, Environment, Store } from '../store/index.ts';
import type { SessionStore } from '../store/sessions.ts';
import { AppOutputHub, type Frame } from './app-output.ts';
import { tokenOf } from './auth.ts';
import type { RateLimiter } from './rate-limit.ts';
import { cookieOf, isCrossSite, SESSION_COOKIE } from './session.ts';

export interface LogStreamDeps {
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
}

const LOGS_PATH = /^\/api\/apps\/([^/]+)\/logs$/;
/** Browsers cannot set headers on a websocket: they offer the token as a subprotocol instead of in the URL. */
const TOKEN_PROTOCOL = 'widemesh.token.';
const APP_POLL_MS = 1000;

type Message =
  | { type: 'line'; source: 'build'; build: number; seq: number; at: string; line: string }
  | {
      type: 'line';
      source: 'app';
      at: string;
      rack: string;
      instance: string;
      service: string;
      stream: string;
      line: string;
    }
  | {
      type: 'line';
      source: 'router';
      at: string;
      method: string;
      path: string;
      status: number;
      ms: number;
      line: string;
    }
  | { type: 'end'; source: 'build'; build: number | null; ok: boolean; message: string }
  | { type: 'dropped'; count: number };

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ error: { code: text.toUpperCase().replace(/ /g, '_'), message: text } })}`,
  );
}

/**
 * `GET /api/apps/:app/logs` upgraded to a websocket: build logs (replayed from the store
 * from `since`, then live) and app output of every instance in every rack, as JSON messages.
 * Query: environment, source=build|app|router|all, build=ID, since=SEQ (build lines after it),
 * after=TIME (app and router lines from that RFC 3339 time on: a client resuming after a dropped
 * connection passes the time of the last line it has, and drops the lines it already has), tail=0|1.
 */
export function attachLogStream(server: http.Server, deps: LogStreamDeps): { close(): void } {
  const { store, logger } = deps;
  const maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
  const hub = new AppOutputHub();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    handleProtocols: (protocols) => (protocols.has('widemesh') ? 'widemesh' : false),
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const match = LOGS_PATH.exec(url.pathname);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const token = tokenOf(req) ?? offered.find((p) => p.startsWith(TOKEN_PROTOCOL))?.slice(TOKEN_PROTOCOL.length);
    if (deps.limiter && !deps.limiter.allows(req)) return refuse(socket, 429, 'Too Many Requests');
    if (token === undefined) {
      const cookie = cookieOf(req, SESSION_COOKIE);
      if (!cookie || !deps.sessions.find(cookie)) return refuse(socket, 401, 'Unauthorized');
      // the cookie alone would let another site's page open this socket in a signed-in browser
      if (isCrossSite(req)) return refuse(socket, 403, 'Forbidden');
    } else if (!store.isValidToken(token)) {
      deps.limiter?.count(req);
      return refuse(socket, 401, 'Unauthorized');
    }
    if (!match || !isAppName(match[1]!)) return refuse(socket, 404, 'Not Found');
    const env = store.getEnvironment(match[1]!, url.searchParams.get('environment') ?? 'production');
    if (!env) return refuse(socket, 404, 'Not Found');
    const after = url.searchParams.get('after');
    if (after !== null && !RFC3339_TIME.test(after)) return refuse(socket, 400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => stream(ws, env, url.searchParams));
  });
  const close = () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  };

  function stream(ws: WebSocket, env: Environment, params: URLSearchParams): void {
    const source = params.get('source') ?? 'all';
    const follow = params.get('tail') !== '0';
    const after = params.get('after') ?? undefined;
    const stops: (() => void)[] = [];
    let dropped = 0;
    let closed = false;
    const secrets = secretsOf(Object.values(store.configVars(env.id)));
    const mask = (line: string) => maskSecrets(line, secrets);

    // a client that does not read loses lines (counted and reported), never slows the producer
    const send = (message: Message | Frame) => {
      if (closed) return;
      if (ws.bufferedAmount > maxBuffered) {
        dropped += 1;
        return;
      }
      if (dropped > 0) {
        ws.send(JSON.stringify({ type: 'dropped', count: dropped } satisfies Message));
        dropped = 0;
      }
      // a Frame is JSON already serialised once for every client (AppOutputHub)
      if (Buffer.isBuffer(message)) ws.send(message, { binary: false });
      else ws.send(JSON.stringify(message));
    };
    const finish = () => {
      if (!closed) ws.close(1000, 'end of log');
    };

    let alive = true;
    const heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, deps.heartbeatMs ?? 20_000);
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('close', () => {
      closed = true;
      clearInterval(heartbeat);
      for (const stop of stops) stop();
    });

    if (source === 'build' || source === 'all') {
      const requested = Number(params.get('build'));
      const explicit = Number.isInteger(requested) && requested > 0;
      const relayed = new Set<number>();
      const relay = (build: Build, since: number) => {
        if (relayed.has(build.id)) return;
        relayed.add(build.id);
        const ended = (ok: boolean, message: string) => {
          send({ type: 'end', source: 'build', build: build.id, ok, message });
          if (source === 'build') finish();
        };
        const onLine = (l: { seq: number; at: string; line: string }) =>
          send({ type: 'line', source: 'build', build: build.id, seq: l.seq, at: l.at, line: l.line });
        if (build.status === 'building' && follow) {
          stops.push(deps.logs.follow(build.id, since, onLine, (r) => ended(r.ok, r.message)));
        } else {
          for (const l of store.buildLog(build.id, since)) onLine(l);
          ended(build.status === 'succeeded', build.error ?? build.status);
        }
      };
      // a continuous tail (source=all) goes on with every build the environment starts later
      if (source === 'all' && follow) {
        stops.push(
          deps.logs.onOpen((id) => {
            const build = store.getBuild(id);
            if (build?.environmentId === env.id) relay(build, 0);
          }),
        );
      }
      const build = explicit ? store.getBuild(requested) : store.listBuilds(env.id)[0];
      if (build && build.environmentId === env.id) relay(build, Math.max(0, Number(params.get('since')) || 0));
      else if (explicit || source === 'build') {
        send({ type: 'end', source: 'build', build: null, ok: false, message: 'no such build' });
        if (source === 'build') finish();
      }
      // a tail resumed at an older build also gets the builds that started while it was away
      if (build && source === 'all' && follow) {
        for (const later of store.listBuilds(env.id).filter((b) => b.id > build.id).reverse()) relay(later, 0);
      }
    }

    if (source === 'router' || source === 'all') {
      const file = deps.accessLogFile;
      const size = () => (fs.existsSync(file) ? fs.statSync(file).size : 0);
      // a one-off read shows the recent past; a follower starts from now, or from `after` if it resumes
      let offset = follow && !after ? size() : Math.max(0, size() - 256 * 1024);
      let partial = '';
      const readNew = () => {
        const end = size();
        if (end < offset) offset = 0; // rotated
        if (end === offset) return;
        const fd = fs.openSync(file, 'r');
        const chunk = Buffer.alloc(end - offset);
        fs.readSync(fd, chunk, 0, chunk.length, offset);
        fs.closeSync(fd);
        offset = end;
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) {
          // one line of the edge's JSON access log (nginx `log_format widemesh`)
          let e: {
            at: string;
            msec?: number;
            app: string;
            environment: string;
            method: string;
            path: string;
            status: number;
            seconds: number;
          };
          try {
            e = JSON.parse(text);
          } catch {
            continue;
          }
          if (e.app !== env.appName || e.environment !== env.name) continue;
          const at = e.msec ? new Date(e.msec * 1000).toISOString() : e.at;
          if (after && Date.parse(at) < Date.parse(after)) continue;
          const ms = Math.round(e.seconds * 1000);
          send({
            type: 'line',
            source: 'router',
            at,
            method: e.method,
            path: e.path,
            status: e.status,
            ms,
            line: `${e.method} ${e.path} ${e.status} ${ms}ms`,
          });
        }
      };
      readNew();
      if (follow) {
        const poll = setInterval(readNew, 100);
        stops.push(() => clearInterval(poll));
      } else if (source === 'router') finish();
    }

    if (source === 'app' || source === 'all') {
      const attached = new Set<string>();
      let pending = 0;
      const instanceEnded = (id: string) => {
        attached.delete(id);
        // a one-off read (tail=0) ends when every instance's output has been sent
        if (!follow && --pending === 0 && source === 'app') finish();
      };
      const attach = async () => {
        for (const placement of store.placements(env.id)) {
          const rack = deps.racks.named(env.id, placement.rack);
          for (const instance of placement.instances) {
            if (!rack || attached.has(instance.id) || closed) continue;
            attached.add(instance.id);
            pending += 1;
            const message = (l: { at: string; stream: string; line: string }): Message => ({
              type: 'line',
              source: 'app',
              at: l.at,
              rack: rack.name,
              instance: instance.id.slice(0, 12),
              service: instance.service,
              stream: l.stream,
              line: mask(l.line),
            });
            const ended = () => instanceEnded(instance.id);
            try {
              // a resumed stream reads each instance from `after` on: the shared live stream starts at now
              const stop =
                follow && !after
                  ? await hub.follow(rack, instance, (l) => Buffer.from(JSON.stringify(message(l))), send, ended)
                  : await rack.output(instance, { tail: 100, follow, since: after }, (l) => send(message(l)), ended);
              if (closed) stop();
              else stops.push(stop);
            } catch (err) {
              instanceEnded(instance.id);
              logger.debug({ err: errorMessage(err) }, 'could not follow an instance');
            }
          }
        }
      };
      void attach().then(() => {
        if (!follow && pending === 0 && source === 'app') finish();
      });
      // new releases bring new instances: keep attaching while the client follows
      if (follow) {
        const poll = setInterval(() => void attach(), APP_POLL_MS);
        stops.push(() => clearInterval(poll));
      }
    }
  }

  return { close };
}
