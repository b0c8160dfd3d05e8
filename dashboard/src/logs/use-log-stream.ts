import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { LogMessage } from '../../../contract/api.ts';
import { appPath, get, logSocketUrl } from '../api.ts';
import { LogBuffer, type LogEntry, type StreamTarget } from './log-buffer.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'ended';

export interface LogStream {
  /** The lines shown: frozen while paused. */
  entries: readonly LogEntry[];
  connection: ConnectionState;
  paused: boolean;
  /** Lines received since the view was paused. */
  waiting: number;
  pause(): void;
  follow(): void;
}

const FIRST_WAIT_MS = 500;
const MAX_WAIT_MS = 10_000;
/** Lines arrive in bursts (a build's replay, a chatty app): draw at most this often. */
const DRAW_EVERY_MS = 100;

function parse(data: unknown): LogMessage | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    return JSON.parse(data) as LogMessage;
  } catch {
    return undefined; // every message of the log stream is JSON: anything else is not ours to show
  }
}

/**
 * A live log stream over the log websocket (cookie auth, same origin). A dropped connection is
 * not the end: it reconnects, waiting a little longer each time (0.5 s doubling up to 10 s), and
 * resumes after the last line it has (see LogBuffer). Only the server's normal close (1000, sent
 * when a build's log is complete) ends it.
 */
export function useLogStream(app: string, target: StreamTarget): LogStream {
  const { environment, source, build } = target;
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [view, setView] = useState<{ entries: LogEntry[]; waiting: number }>({ entries: [], waiting: 0 });
  const buffer = useRef<LogBuffer>(new LogBuffer(target));
  const pausedAt = useRef<number | undefined>(undefined);

  const draw = useCallback(() => {
    const b = buffer.current;
    if (pausedAt.current === undefined) setView({ entries: b.snapshot(), waiting: 0 });
    else setView((v) => ({ entries: v.entries, waiting: b.accepted - pausedAt.current! }));
  }, []);

  useEffect(() => {
    const b = new LogBuffer({ environment, source, build });
    buffer.current = b;
    pausedAt.current = undefined;
    setView({ entries: [], waiting: 0 });
    setConnection('connecting');
    let socket: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let drawTimer: ReturnType<typeof setTimeout> | undefined;
    let wait = FIRST_WAIT_MS;
    let stopped = false;
    const scheduleDraw = () => {
      drawTimer ??= setTimeout(() => {
        drawTimer = undefined;
        draw();
      }, DRAW_EVERY_MS);
    };
    const connect = () => {
      b.beginConnection();
      const ws = new WebSocket(logSocketUrl(app, b.query()), 'widemesh');
      let opened = false;
      socket = ws;
      ws.onopen = () => {
        opened = true;
        wait = FIRST_WAIT_MS;
        setConnection('connected');
      };
      ws.onmessage = (event) => {
        const message = parse(event.data);
        if (message && b.accept(message)) scheduleDraw();
      };
      ws.onclose = (event) => {
        if (stopped) return;
        if (event.code === 1000) return setConnection('ended');
        setConnection('reconnecting');
        // refused before it opened: if the session is gone, this request's 401 shows the sign-in page (api.ts)
        if (!opened) void get(appPath(app, '')).catch(() => {});
        retry = setTimeout(connect, wait);
        wait = Math.min(wait * 2, MAX_WAIT_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearTimeout(drawTimer);
      socket?.close();
    };
  }, [app, environment, source, build, draw]);

  const pause = useCallback(() => {
    pausedAt.current = buffer.current.accepted;
    draw();
  }, [draw]);
  const follow = useCallback(() => {
    pausedAt.current = undefined;
    draw();
  }, [draw]);

  return { ...view, connection, paused: pausedAt.current !== undefined, pause, follow };
}
