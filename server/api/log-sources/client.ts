import type { LogMessage, LogSource } from '../../../contract/api.ts';
import type { Environment } from '../../store/index.ts';
import type { Frame } from '../app-output.ts';

/** One connected client, as each log source sees it: what it asked for, and how to reach it. */
export interface LogClient {
  env: Environment;
  source: LogSource;
  /** tail=1 (default): live lines after the past ones; tail=0: the past ones, then the socket closes. */
  follow: boolean;
  /** build=ID and since=SEQ: the build and the last of its lines the client has. */
  build: number | undefined;
  since: number;
  /** after=TIME: app and router lines from that time on (a client resuming after a drop). */
  after: string | undefined;
  send(message: LogMessage | Frame): void;
  /** Ends the stream (a one-off read, or a source=build stream whose build ended). */
  finish(): void;
  /** Runs `stop` when the client goes (or at once if it has gone). */
  onClose(stop: () => void): void;
  readonly closed: boolean;
  /** Config var values masked out of app output. */
  mask(line: string): string;
}

/** Whether this client asked for lines of `source` (itself, or all). */
export const wants = (client: LogClient, source: Exclude<LogSource, 'all'>) =>
  client.source === source || client.source === 'all';
