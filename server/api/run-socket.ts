/**
 * `GET /api/apps/:app/run?environment=NAME` upgraded to a websocket: `widemesh run` as on Heroku,
 * a one-off process of the current release with stdin forwarded and, when asked, a TTY.
 *   client → server: first {"command", "tty", "cols"?, "rows"?}, then {"stdin": base64},
 *                    {"eof": true} (stdin ended), {"resize": {"cols", "rows"}}
 *   server → client: {"stream": "stdout" | "stderr", "data": base64}, then {"exit": code}
 *                    or {"error": message}; the server closes the socket after either.
 * Closing the socket early kills the process; its container is removed in every case.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { WidemeshError } from '../errors.ts';
import type { OneOffRunner, OneOffSession, Terminal } from '../racks/one-off.ts';
import type { Environment, Store } from '../store/index.ts';
import { environmentNamed } from './lookup.ts';
import { refuseUpgrade } from './upgrade.ts';

interface RunSocketDeps {
  store: Store;
  oneOff: OneOffRunner;
}

const RUN_PATH = /^\/api\/apps\/([^/]+)\/run$/;
const MAX_COMMAND = 4096;

interface Start extends Terminal {
  command: string;
}

/** The first message: what to run and on what terminal; INVALID_COMMAND otherwise. */
export function startOf(message: unknown): Start {
  const m = (message ?? {}) as Record<string, unknown>;
  const { command } = m;
  if (typeof command !== 'string' || command.trim() === '' || command.length > MAX_COMMAND)
    throw new WidemeshError('INVALID_COMMAND', `send {"command": "..."} (at most ${MAX_COMMAND} characters)`);
  const size = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 10_000 ? n : undefined);
  return { command, tty: m.tty === true, cols: size(m.cols), rows: size(m.rows) };
}

/** The upgrade handler for run sockets (the caller is already authorized) and the function that closes them. */
export function runSocket(deps: RunSocketDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    const match = RUN_PATH.exec(url.pathname);
    if (!match) return false;
    let env: Environment;
    try {
      env = environmentNamed(deps.store, match[1], url.searchParams.get('environment') ?? 'production');
    } catch (err) {
      const { status, code, message } = err as WidemeshError;
      refuseUpgrade(socket, status, http.STATUS_CODES[status] ?? 'Error', { code, message });
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, env, deps));
    return true;
  };
  const close = () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
  return { upgrade, close };
}

const parsed = (data: RawData): Record<string, unknown> => {
  try {
    return JSON.parse(String(data));
  } catch {
    return {};
  }
};

/** One run: waits for the start message, then relays input and output until the process exits. */
function serve(ws: WebSocket, env: Environment, deps: RunSocketDeps): void {
  const send = (message: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message));
  const early: Record<string, unknown>[] = [];
  let session: OneOffSession | undefined;
  let closed = false;
  ws.on('close', () => {
    closed = true;
    session?.kill();
  });
  ws.on('message', (data) => {
    const message = parsed(data);
    if (session) relayInput(session, message);
    else if (early.push(message) === 1) void start(message);
  });
  const start = async (first: Record<string, unknown>) => {
    try {
      const { command, ...terminal } = startOf(first);
      const release = deps.store.releases.current(env.id);
      if (!release) throw new WidemeshError('NOT_DEPLOYED', `${env.appName} (${env.name}) has no release to run`);
      const request = { env, release, command };
      const output = (stream: string, data: Buffer) => send({ stream, data: data.toString('base64') });
      session = await deps.oneOff.session(request, terminal, output);
      if (closed) session.kill();
      for (const message of early.slice(1)) relayInput(session, message);
      send({ exit: await session.exited });
    } catch (err) {
      send({ error: err instanceof WidemeshError ? err.message : 'the one-off process failed to run' });
    }
    ws.close(1000, 'done');
  };
}

function relayInput(session: OneOffSession, message: Record<string, unknown>): void {
  if (typeof message.stdin === 'string') session.write(Buffer.from(message.stdin, 'base64'));
  if (message.eof === true) session.endInput();
  const size = message.resize as { cols?: unknown; rows?: unknown } | undefined;
  if (typeof size?.cols === 'number' && typeof size.rows === 'number') session.resize(size.cols, size.rows);
}
