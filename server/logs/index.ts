import { EventEmitter } from 'node:events';
import type { LogLine, Store } from '../store/index.ts';
import { masker, secretsOf } from './secrets.ts';

/**
 * What a deploy writes to: Heroku-style lines a person can scan.
 *   -----> Building…        a phase
 *          details         indented output
 *    !     what failed     an error
 */
export interface BuildLog {
  step(text: string): void;
  info(text: string): void;
  error(text: string): void;
  /** Hides the secrets among these config vars (see secrets.ts) from every later line. */
  addSecrets(config: Record<string, string>): void;
}

export interface BuildResult {
  ok: boolean;
  message: string;
}

/** A build's own log: its lines are stored with a sequence number, and `end` announces the result. */
export type OpenBuildLog = BuildLog & { end(result: BuildResult): void };

/**
 * Terminal control sequences (colours, cursor moves, OSC titles) and other control characters but tab:
 * a log line is plain text, in the store and on the pusher's screen alike.
 */
const CONTROL_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

const stripControlSequences = (text: string) => text.replace(CONTROL_SEQUENCES, '');

/** How long since `started` (Date.now()), as a build log says it: `2.3s`. */
export const secondsSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)}s`;

/** A BuildLog that formats each line Heroku-style, hides secrets, and hands it to `emit`. */
export function lineLog(emit: (line: string) => void, config: Record<string, string> = {}): BuildLog {
  const hidden = new Set(secretsOf(config));
  let mask = masker(hidden);
  const write = (prefix: string, text: string) => {
    for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
      const clean = stripControlSequences(raw);
      if (raw.trim() !== '' && clean.trim() === '') continue; // a line that was only a colour reset
      emit(mask(`${prefix}${clean}`));
    }
  };
  return {
    step: (text) => write('-----> ', text),
    info: (text) => write('       ', text),
    error: (text) => write(' !     ', text),
    addSecrets: (more) => {
      for (const s of secretsOf(more)) hidden.add(s);
      mask = masker(hidden);
    },
  };
}

/** A BuildLog that keeps its lines (a config change, scale or rollback answers them in its response). */
export function collectingLog(): BuildLog & { lines: string[] } {
  const lines: string[] = [];
  return { ...lineLog((line) => lines.push(line)), lines };
}

/** Writes every line to both logs (each hides its own secrets). */
export function teeLog(a: BuildLog, b: BuildLog): BuildLog {
  return {
    step: (text) => {
      a.step(text);
      b.step(text);
    },
    info: (text) => {
      a.info(text);
      b.info(text);
    },
    error: (text) => {
      a.error(text);
      b.error(text);
    },
    addSecrets: (config) => {
      a.addSecrets(config);
      b.addSecrets(config);
    },
  };
}

/**
 * Build logs: every line is persisted with a sequence number, then announced to live
 * followers (the git hook relay, websockets). Followers replay from the store first, so a
 * follower that joins late misses nothing and sees no line twice.
 */
export class LogBus {
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly store: Store) {}

  open(buildId: number, config: Record<string, string> = {}): OpenBuildLog {
    let seq = this.store.builds.log(buildId).at(-1)?.seq ?? 0;
    const persist = (line: string) => {
      seq += 1;
      this.store.builds.appendLog(buildId, seq, line);
      this.events.emit(`line:${buildId}`, { seq, line, at: new Date().toISOString() } satisfies LogLine);
    };
    this.events.emit('open', buildId);
    return {
      ...lineLog(persist, config),
      end: (result) => this.events.emit(`end:${buildId}`, result),
    };
  }

  /** Calls onOpen with the id of every build log opened from now on; returns the function that stops. */
  onOpen(onOpen: (buildId: number) => void): () => void {
    this.events.on('open', onOpen);
    return () => this.events.off('open', onOpen);
  }

  /**
   * Calls onLine for every line after `sinceSeq`, then live ones, until the build ends
   * (onEnd) or the returned function is called.
   */
  follow(buildId: number, sinceSeq: number, onLine: (l: LogLine) => void, onEnd: (r: BuildResult) => void): () => void {
    let last = sinceSeq;
    const deliver = (l: LogLine) => {
      if (l.seq > last) {
        last = l.seq;
        onLine(l);
      }
    };
    const lineListener = (l: LogLine) => deliver(l);
    const endListener = (r: BuildResult) => {
      stop();
      onEnd(r);
    };
    const stop = () => {
      this.events.off(`line:${buildId}`, lineListener);
      this.events.off(`end:${buildId}`, endListener);
    };
    // Subscribe before replaying: a line written in between arrives live and is deduplicated by seq.
    this.events.on(`line:${buildId}`, lineListener);
    this.events.on(`end:${buildId}`, endListener);
    for (const l of this.store.builds.log(buildId, sinceSeq)) deliver(l);
    return stop;
  }
}
