/**
 * `widemesh run` over the run websocket (GET /api/apps/:app/run): stdin is forwarded as it comes,
 * output is written as raw bytes, and when stdin is a terminal the process gets a TTY of the same
 * size (raw mode here, so Ctrl-C and Ctrl-D reach the remote shell).
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { ApiErrorBody } from '../contract/api.ts';
import type { Settings, Target } from './client.ts';
import { ApiError } from './errors.ts';

export interface RunRequest {
  command: string;
  /** A TTY for the process; undefined: one when stdin is a terminal. */
  tty?: boolean;
}

/** Runs a one-off process; resolves with its exit code. */
export type RunOneOff = (settings: Settings, target: Target, request: RunRequest) => Promise<number>;

interface TerminalSize {
  cols: number;
  rows: number;
}

/** The local end: this process's stdin, stdout and stderr, and its terminal. */
interface RunIo {
  stdinIsTty: boolean;
  size(): TerminalSize | undefined;
  /** Starts reading stdin (in raw mode for a TTY); answers the function that stops. */
  readInput(onData: (data: Buffer) => void, onEnd: () => void, raw: boolean): () => void;
  onResize(listener: (size: TerminalSize) => void): () => void;
  write(stream: 'stdout' | 'stderr', data: Buffer): void;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** The shell command the words make: one word is taken as it is (`run "ls | wc -l"`), several are quoted. */
export function shellCommand(words: string[]): string {
  if (words.length === 1) return words[0]!;
  return words.map((w) => (SAFE_WORD.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function runUrl(serverUrl: string, { app, environment }: Target): string {
  const query = environment ? `?environment=${encodeURIComponent(environment)}` : '';
  return `${serverUrl.replace(/^http/, 'ws')}/api/apps/${encodeURIComponent(app)}/run${query}`;
}

/** The error a refused upgrade carries in its body, as the API's other errors. */
function refusal(res: IncomingMessage): Promise<ApiError> {
  return new Promise((resolve) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      let error: ApiErrorBody['error'] | undefined;
      try {
        error = (JSON.parse(body) as ApiErrorBody).error;
      } catch {}
      resolve(new ApiError(error?.message ?? `HTTP ${res.statusCode}`, error?.code ?? 'HTTP_ERROR', res.statusCode));
    });
  });
}

type RunMessage = { stream: 'stdout' | 'stderr'; data: string } | { exit: number } | { error: string };

export function runOverWebsocket(io: RunIo): RunOneOff {
  return (settings, target, request) =>
    new Promise((resolve, reject) => {
      const tty = request.tty ?? io.stdinIsTty;
      const ws = new WebSocket(runUrl(settings.url, target), {
        headers: { authorization: `Bearer ${settings.token}` },
      });
      const send = (message: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message));
      const stops: (() => void)[] = [];
      let ending: number | ApiError = new ApiError('the connection ended before the command did', 'RUN_FAILED');
      ws.on('open', () => {
        send({ command: request.command, tty, ...(tty ? io.size() : {}) });
        const onData = (data: Buffer) => send({ stdin: data.toString('base64') });
        stops.push(io.readInput(onData, () => send({ eof: true }), tty));
        if (tty) stops.push(io.onResize((size) => send({ resize: size })));
      });
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as RunMessage;
        if ('stream' in m) io.write(m.stream, Buffer.from(m.data, 'base64'));
        else ending = 'exit' in m ? m.exit : new ApiError(m.error, 'RUN_FAILED');
      });
      ws.on('unexpected-response', async (req, res) => {
        reject(await refusal(res)); // before the socket closes, which would settle it otherwise
        req.destroy();
      });
      ws.on('error', (err) => {
        ending = new ApiError(`cannot reach ${settings.url} (${err.message})`, 'UNREACHABLE');
      });
      ws.on('close', () => {
        for (const stop of stops) stop();
        if (typeof ending === 'number') resolve(ending);
        else reject(ending);
      });
    });
}

/** This process's terminal. */
export const processRunIo: RunIo = {
  get stdinIsTty() {
    return Boolean(process.stdin.isTTY);
  },
  size: () => (process.stdout.isTTY ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined),
  readInput(onData, onEnd, raw) {
    if (raw && process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.on('data', onData).on('end', onEnd).resume();
    return () => {
      process.stdin.off('data', onData).off('end', onEnd).pause();
      if (raw && process.stdin.isTTY) process.stdin.setRawMode(false);
    };
  },
  onResize(listener) {
    const resized = () => listener({ cols: process.stdout.columns, rows: process.stdout.rows });
    process.stdout.on('resize', resized);
    return () => process.stdout.off('resize', resized);
  },
  write: (stream, data) => void process[stream].write(data),
};
