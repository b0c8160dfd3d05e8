/**
 * Reads the log websocket (GET /api/apps/:app/logs). Following (`--tail`), a dropped connection
 * is not the end: it reconnects with a growing wait and resumes the build log after the last line
 * shown (`build=ID&since=SEQ`), so no build line is lost or shown twice. App and router output
 * starts with its last lines (in time order across racks), then resumes from the time of the last
 * line shown (`after=TIME`), recent lines compared so none shows twice.
 */
import WebSocket from 'ws';
import type { LogMessage, LogSource } from '../contract/api.ts';
import { ApiError } from './errors.ts';
import { printable } from './output.ts';

export interface LogRequest {
  app: string;
  environment?: string;
  source: LogSource;
  /** Follow new output, reconnecting when the connection drops, instead of reading what there is. */
  tail: boolean;
  build?: number;
  /** How many of the last lines to show first (`-n`); default: all of a build's, 100 of app output. */
  lines?: number;
}

/** How far the stream got: the build it shows and the last of its lines shown, the time of the last app line. */
interface Position {
  build?: number;
  seq?: number;
  after?: string;
}

const DEFAULT_HISTORY = 100;

export function logsUrl(serverUrl: string, request: LogRequest, at: Position): string {
  const query = new URLSearchParams({ source: request.source, tail: request.tail ? '1' : '0' });
  if (request.environment) query.set('environment', request.environment);
  const build = at.build ?? request.build;
  if (build !== undefined) query.set('build', String(build));
  if (at.seq !== undefined) query.set('since', String(at.seq));
  if (at.after !== undefined) query.set('after', at.after);
  // ws reaches a unix socket as ws+unix:PATH:ROUTE
  const base = serverUrl.startsWith('unix:') ? `ws+${serverUrl}:` : serverUrl.replace(/^http/, 'ws');
  return `${base}/api/apps/${encodeURIComponent(request.app)}/logs?${query}`;
}

/**
 * The text a message shows as, or undefined when it shows nothing. What apps and builds wrote is
 * theirs, not the terminal's: control sequences in it (links, titles, cursor moves) are dropped.
 */
export function formatLogMessage(m: LogMessage): string | undefined {
  if (m.type === 'dropped') return `(dropped ${m.count} lines: the connection was too slow)`;
  if (m.type === 'end') return m.build === null && !m.ok ? '(no builds yet)' : undefined;
  if (m.source === 'build') return printable(m.line);
  if (m.source === 'app') return printable(`${m.at} ${m.rack}[${m.service}.${m.instance.slice(0, 6)}]: ${m.line}`);
  return printable(`${m.at} router: ${m.line}`);
}

/** A build line at or before the position: already shown. */
export const isRepeat = (at: Position, m: LogMessage): boolean =>
  m.type === 'line' && m.source === 'build' && m.build === at.build && at.seq !== undefined && m.seq <= at.seq;

/**
 * Pins the build being shown, so a reconnect resumes that build even if a newer one started;
 * app and router lines move `after` on to their time.
 */
function positionAfter(at: Position, m: LogMessage): Position {
  if (m.type === 'line' && m.source === 'build') return { ...at, build: m.build, seq: m.seq };
  if (m.type === 'line' && (at.after === undefined || Date.parse(m.at) >= Date.parse(at.after)))
    return { ...at, after: m.at };
  if (m.type === 'end' && m.build !== null && at.build === undefined) return { ...at, build: m.build };
  return at;
}

/** The last `count` lines in time order across racks (a build's lines keep theirs), then what is not a line. */
function lastInTimeOrder(messages: LogMessage[], count: number | undefined): LogMessage[] {
  const lines = messages.filter((m) => m.type === 'line');
  const ordered = lines
    .map((m, i) => ({ m, i, at: Date.parse(m.at) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map(({ m }) => m);
  const last = count === undefined ? ordered : ordered.slice(-count);
  return [...last, ...messages.filter((m) => m.type !== 'line')];
}

/** App and router lines shown lately: a resumed stream (`after`) repeats those at its start. */
function recentLines(limit = 2000) {
  const keys = new Set<string>();
  const keyOf = (m: LogMessage) => (m.type === 'line' && m.source !== 'build' ? JSON.stringify(m) : undefined);
  return {
    /** True when the line was shown already; remembers it otherwise. */
    seen(m: LogMessage): boolean {
      const key = keyOf(m);
      if (key === undefined) return false;
      if (keys.has(key)) return true;
      keys.add(key);
      if (keys.size > limit) keys.delete(keys.values().next().value!);
      return false;
    },
  };
}

type Ending = { done: true } | { done: false; why: string; opened: boolean };

/** One connection, until the server ends the stream (1000), `stop` fires, or it drops. */
function streamOnce(url: string, token: string, onMessage: (m: LogMessage) => void, stop: AbortSignal) {
  return new Promise<Ending>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    let opened = false;
    let why = 'connection closed';
    const close = () => ws.terminate();
    stop.addEventListener('abort', close, { once: true });
    const settle = (ending: Ending | ApiError) => {
      stop.removeEventListener('abort', close);
      if (ending instanceof ApiError) reject(ending);
      else resolve(ending);
    };
    ws.on('open', () => {
      opened = true;
    });
    ws.on('message', (data) => {
      let message: LogMessage;
      try {
        message = JSON.parse(String(data));
      } catch {
        return; // not ours to show: every message of the log stream is JSON
      }
      onMessage(message);
    });
    ws.on('unexpected-response', (req, res) => {
      req.destroy();
      const status = res.statusCode ?? 0;
      // a proxy in front of a restarting server answers 502/503: worth another try
      if (status >= 500) settle({ done: false, why: `HTTP ${status}`, opened });
      else settle(new ApiError(`the server refused the log stream (${status})`, 'LOG_STREAM_REFUSED', status));
    });
    ws.on('error', (err) => {
      why = err.message; // 'close' follows and settles
    });
    ws.on('close', (code) => settle(stop.aborted || code === 1000 ? { done: true } : { done: false, why, opened }));
  });
}

const pause = (ms: number, stop: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });

export interface FollowOptions {
  serverUrl: string;
  token: string;
  request: LogRequest;
  /** Each line shown (stdout). */
  write(line: string): void;
  /** Connection trouble (stderr). */
  warn(line: string): void;
  /** Ends the stream cleanly (Ctrl-C). */
  stop: AbortSignal;
  backoff?: { firstMs: number; maxMs: number };
}

/** One read of what there is (tail=0): the last lines, in time order. */
async function readOnce(o: FollowOptions): Promise<LogMessage[]> {
  const messages: LogMessage[] = [];
  const url = logsUrl(o.serverUrl, { ...o.request, tail: false }, {});
  const ending = await streamOnce(url, o.token, (m) => messages.push(m), o.stop);
  if (!ending.done) throw new ApiError(`log stream failed: ${ending.why}`, 'LOG_STREAM_FAILED');
  const fallback = o.request.source === 'build' ? undefined : DEFAULT_HISTORY;
  return lastInTimeOrder(messages, o.request.lines ?? fallback);
}

/**
 * Shows the log until it ends or `stop` fires; following, it outlives dropped connections.
 * Following app or router output, the last lines come first, as on Heroku.
 */
export async function followLogs(o: FollowOptions): Promise<void> {
  const { firstMs, maxMs } = o.backoff ?? { firstMs: 500, maxMs: 10_000 };
  const recent = recentLines();
  let at: Position = {};
  let wait = firstMs;
  const show = (m: LogMessage) => {
    if (isRepeat(at, m) || recent.seen(m)) return;
    at = positionAfter(at, m);
    const text = formatLogMessage(m);
    if (text !== undefined) o.write(text);
  };
  if (!o.request.tail || o.request.source !== 'build') {
    for (const m of await readOnce(o)) show(m);
    if (!o.request.tail) return;
  }
  while (!o.stop.aborted) {
    const ending = await streamOnce(logsUrl(o.serverUrl, o.request, at), o.token, show, o.stop);
    if (ending.done || o.stop.aborted) return;
    if (ending.opened) wait = firstMs; // it was connected: start the waits over
    o.warn(`log stream lost (${ending.why}); reconnecting in ${wait / 1000}s`);
    await pause(wait, o.stop);
    wait = Math.min(wait * 2, maxMs);
  }
}
