import type { LogMessage, LogSource } from '../../../cli/api-types.ts';
import { compareTimes } from './time.ts';

/**
 * What a log view holds: the last `limit` lines of one stream, kept across reconnections without
 * gaps or repeats. Pure (no socket, no DOM) so the resume rules can be tested on their own.
 *
 * - Build lines carry a sequence number: a reconnection asks for the lines after the last one
 *   (`build=B&since=SEQ`) and anything at or below it is a repeat.
 * - App and router lines carry only a time: a reconnection asks for the lines after the last time
 *   seen (`after=AT`). Several lines can share that time, so the server sends the lines *at* that
 *   time again and the buffer drops those it already has (same time and same content).
 */

export type LineMessage = Extract<LogMessage, { type: 'line' }>;
type EndMessage = Extract<LogMessage, { type: 'end' }>;

/** One row of a log view; `id` is unique within the buffer (a stable key for rendering). */
export type LogEntry =
  | { kind: 'line'; id: number; message: LineMessage }
  | { kind: 'end'; id: number; build: number | null; ok: boolean; message: string }
  | { kind: 'dropped'; id: number; count: number };

export interface StreamTarget {
  environment: string;
  source: LogSource;
  /** One build's log only (the build log page); otherwise the latest build's. */
  build?: number;
}

export const DEFAULT_LIMIT = 2000;

/** Identity of an app or router line apart from its time (two lines at the same time differ in these). */
export function lineKey(m: LineMessage): string {
  if (m.source === 'app') return `app\n${m.rack}\n${m.instance}\n${m.stream}\n${m.line}`;
  if (m.source === 'router') return `router\n${m.method}\n${m.path}\n${m.status}\n${m.ms}\n${m.line}`;
  return `build\n${m.build}\n${m.seq}`;
}

export class LogBuffer {
  private entries: LogEntry[] = [];
  private nextId = 1;
  /** Every entry ever accepted, including those the limit pushed out (for "N new lines" counts). */
  accepted = 0;
  /** The build whose lines arrive, and the last sequence number received per build. */
  private currentBuild: number | undefined;
  private readonly lastSeq = new Map<number, number>();
  private readonly endedBuilds = new Set<number | null>();
  /** The latest app/router time received and the keys of the lines received at exactly that time. */
  private lastAt: string | undefined;
  private keysAtLast: string[] = [];
  /** This connection resumed after `at`: lines before it are repeats, lines at it may be. */
  private boundary: { at: string; keys: string[] } | undefined;

  constructor(
    readonly target: StreamTarget,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

  /** The log websocket's query for the next connection: everything after what this buffer has. */
  query(): Record<string, string> {
    const { environment, source, build } = this.target;
    const query: Record<string, string> = { environment, source, tail: '1' };
    const resumeBuild = build ?? this.currentBuild;
    // a finished build has nothing more to send: ask for the latest build (a repeat is dropped by seq)
    if (resumeBuild !== undefined && (build !== undefined || !this.endedBuilds.has(resumeBuild))) {
      query.build = String(resumeBuild);
      const seq = this.lastSeq.get(resumeBuild);
      if (seq !== undefined) query.since = String(seq);
    }
    if (this.lastAt !== undefined && source !== 'build') query.after = this.lastAt;
    return query;
  }

  /** Call as each connection opens: what arrives next is measured against what is here now. */
  beginConnection(): void {
    this.boundary = this.lastAt === undefined ? undefined : { at: this.lastAt, keys: [...this.keysAtLast] };
  }

  /** Adds a message unless it repeats one received before; true when the view changed. */
  accept(m: LogMessage): boolean {
    if (m.type === 'dropped') return this.push({ kind: 'dropped', id: 0, count: m.count });
    if (m.type === 'end') return this.acceptEnd(m);
    if (m.source === 'build') {
      if (m.seq <= (this.lastSeq.get(m.build) ?? 0)) return false;
      this.lastSeq.set(m.build, m.seq);
      this.currentBuild = m.build;
    } else if (this.isRepeat(m)) return false;
    return this.push({ kind: 'line', id: 0, message: m });
  }

  /** The entries, oldest first (a copy: the view may keep it while more arrive). */
  snapshot(): LogEntry[] {
    return this.entries.slice(-this.limit);
  }

  private acceptEnd(m: EndMessage): boolean {
    if (this.endedBuilds.has(m.build)) return false;
    this.endedBuilds.add(m.build);
    if (m.build !== null) this.currentBuild = m.build;
    return this.push({ kind: 'end', id: 0, build: m.build, ok: m.ok, message: m.message });
  }

  private isRepeat(m: Exclude<LineMessage, { source: 'build' }>): boolean {
    const key = lineKey(m);
    if (this.boundary) {
      const order = compareTimes(m.at, this.boundary.at);
      if (order < 0) return true;
      const seen = order === 0 ? this.boundary.keys.indexOf(key) : -1;
      if (seen >= 0) {
        this.boundary.keys.splice(seen, 1); // the same line twice at one time is two lines: drop one per copy held
        return true;
      }
    }
    const order = this.lastAt === undefined ? 1 : compareTimes(m.at, this.lastAt);
    if (order > 0) {
      this.lastAt = m.at;
      this.keysAtLast = [key];
    } else if (order === 0) this.keysAtLast.push(key);
    return false;
  }

  private push(entry: LogEntry): true {
    entry.id = this.nextId++;
    this.entries.push(entry);
    this.accepted += 1;
    // trim in chunks, not one line at a time: a splice of the array per line is quadratic
    if (this.entries.length > this.limit + Math.ceil(this.limit / 10))
      this.entries = this.entries.slice(this.entries.length - this.limit);
    return true;
  }
}
