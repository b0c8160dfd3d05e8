import fs from 'node:fs';
import type { LogMessage } from '../../../contract/api.ts';
import type { LogClient } from './client.ts';

/** How often a follower looks for new access lines. */
const POLL_MS = 100;
/** How far back a one-off read (or a resumed one) looks. */
const RECENT_BYTES = 256 * 1024;

/** One line of the edge's JSON access log (nginx `log_format widemesh`). */
interface AccessLine {
  at: string;
  msec?: number;
  app: string;
  environment: string;
  method: string;
  path: string;
  status: number;
  seconds: number;
}

/**
 * Router lines: the environment's requests from the edge's access log. A one-off read shows the
 * recent past; a follower starts from now, or from `after` if it resumes.
 */
export function streamRouterLines(client: LogClient, accessLogFile: string): void {
  const size = () => (fs.existsSync(accessLogFile) ? fs.statSync(accessLogFile).size : 0);
  let offset = client.follow && !client.after ? size() : Math.max(0, size() - RECENT_BYTES);
  let partial = '';
  const readNew = () => {
    const end = size();
    if (end < offset) offset = 0; // rotated
    if (end === offset) return;
    const lines = (partial + readRange(accessLogFile, offset, end)).split('\n');
    offset = end;
    partial = lines.pop() ?? '';
    for (const text of lines) {
      const message = routerMessage(client, text);
      if (message) client.send(message);
    }
  };
  readNew();
  if (client.follow) {
    const poll = setInterval(readNew, POLL_MS);
    client.onClose(() => clearInterval(poll));
  } else if (client.source === 'router') client.finish();
}

function readRange(file: string, from: number, to: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(to - from);
    fs.readSync(fd, chunk, 0, chunk.length, from);
    return chunk.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** The client's message for one access line, or undefined (another app's, too old, or not JSON). */
function routerMessage(client: LogClient, text: string): LogMessage | undefined {
  let e: AccessLine;
  try {
    e = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (e.app !== client.env.appName || e.environment !== client.env.name) return undefined;
  const at = e.msec ? new Date(e.msec * 1000).toISOString() : e.at;
  if (client.after && Date.parse(at) < Date.parse(client.after)) return undefined;
  const ms = Math.round(e.seconds * 1000);
  const { method, path, status } = e;
  return { type: 'line', source: 'router', at, method, path, status, ms, line: `${method} ${path} ${status} ${ms}ms` };
}
