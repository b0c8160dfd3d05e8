import type { LogMessage, LogSource } from '../../../contract/api.ts';
import { compareTimes, timeMs } from './time.ts';

/**
 * What a log view holds: the last `limit` lines of one stream, kept across reconnections without
 * gaps or repeats. Pure (no socket, no DOM) so the resume rules can be tested on their own.
 *
 * - Build lines carry a sequence number: a reconnection asks for the lines after the last one
 *   (`build=B&since=SEQ`) and anything at or below it is a repeat.
 * - App and router lines carry only a time: a reconnection asks for the lines from a little before
 *   the newest time seen (`after=AT`, RESUME_MARGIN_MS earlier) and drops those it already has
 *   (same time, same content). The margin is there because the sources do not arrive in step: the
 *   router's lines are read from the edge's access log every 100 ms and nginx writes it in bursts,
 *   so when the connection drops, router lines older than the newest app line may still be on their
 *   way. Asking from the newest time exactly lost them (seen against a real server).
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

const DEFAULT_LIMIT = 2000;
export const RESUME_MARGIN_MS = 5000;
/** App/router lines are remembered (for dropping repeats) this far behind the newest one. */
const HELD_MS = 2 * RESUME_MARGIN_MS;
const PRUNE_EVERY = 500;

type TimedLine = Exclude<LineMessage, { source: 'build' }>;

/** Identity of an app or router line apart from its time (two lines at the same time differ in these). */
function lineKey(m: TimedLine): string {
  if (m.source === 'app') return `app\n${m.rack}\n${m.instance}\n${m.stream}\n${m.line}`;
  return `router\n${m.method}\n${m.path}\n${m.status}\n${m.ms}\n${m.line}`;
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
  /** The newest app/router time received, and the recent lines by time and content (with how many of each). */
  private newestMs: number | undefined;
  /** The first app/router line's time: the view starts there, so a resume never reaches before it. */
  private firstMs: number | undefined;
  private readonly held = new Map<string, { count: number; ms: number }>();
  private heldSincePrune = 0;
  /** This connection resumed from `after`: lines before it are repeats, and so are the held lines sent again. */
  private boundary: { after: string; held: Map<string, number> } | undefined;

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
    const after = this.resumeAfter();
    if (after !== undefined && source !== 'build') query.after = after;
    return query;
  }

  /** Call as each connection opens: what arrives next is measured against what is here now. */
  beginConnection(): void {
    const after = this.resumeAfter();
    const held = new Map([...this.held].map(([id, h]) => [id, h.count]));
    this.boundary = after === undefined ? undefined : { after, held };
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

  private resumeAfter(): string | undefined {
    if (this.newestMs === undefined || this.firstMs === undefined) return undefined;
    return new Date(Math.max(this.firstMs, this.newestMs - RESUME_MARGIN_MS)).toISOString();
  }

  private isRepeat(m: TimedLine): boolean {
    const id = `${m.at}\n${lineKey(m)}`;
    if (this.boundary) {
      if (compareTimes(m.at, this.boundary.after) < 0) return true;
      const copies = this.boundary.held.get(id) ?? 0;
      if (copies > 0) {
        this.boundary.held.set(id, copies - 1); // the same line twice at one time is two lines: one drop per copy held
        return true;
      }
    }
    this.hold(id, timeMs(m.at));
    return false;
  }

  private hold(id: string, ms: number): void {
    const held = this.held.get(id);
    if (held) held.count += 1;
    else this.held.set(id, { count: 1, ms });
    if (Number.isNaN(ms)) return;
    this.firstMs ??= ms;
    if (this.newestMs === undefined || ms > this.newestMs) this.newestMs = ms;
    if (++this.heldSincePrune < PRUNE_EVERY || this.newestMs === undefined) return;
    this.heldSincePrune = 0;
    for (const [key, h] of this.held) if (!(h.ms >= this.newestMs - HELD_MS)) this.held.delete(key);
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
