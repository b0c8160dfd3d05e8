import { useLayoutEffect, useRef } from 'preact/hooks';
import type { LineMessage, LogEntry } from './log-buffer.ts';
import { clockTime } from './time.ts';
import './logs.css';

/** Where a line came from, beyond its source: the build, or the rack and service of an app instance. */
function origin(m: LineMessage): string | undefined {
  if (m.source === 'build') return `#${m.build}`;
  if (m.source === 'app') return `${m.rack}/${m.service}${m.stream === 'stderr' ? ' stderr' : ''}`;
  return undefined;
}

function Line({ m, bare }: { m: LineMessage; bare: boolean }) {
  const where = bare ? undefined : origin(m);
  const failed = m.source === 'router' && m.status >= 500;
  return (
    <div class={`log-line log-${m.source}${failed ? ' log-failed-request' : ''}`}>
      <time class="log-time" dateTime={m.at} title={m.at}>
        {clockTime(m.at)}
      </time>
      {!bare && <span class="log-source">{m.source}</span>}
      {where && (
        <span class="log-where" title={m.source === 'app' ? `instance ${m.instance}` : undefined}>
          {where}
        </span>
      )}
      <span class="log-text">{m.line}</span>
    </div>
  );
}

/** A build's result, said in words and marked, not only coloured. */
export function outcomeText(build: number | null, ok: boolean, message: string): string {
  if (build === null) return 'No builds yet';
  if (ok) return `✓ Build ${build} succeeded${message && message !== 'succeeded' ? `: ${message}` : ''}`;
  return `✗ Build ${build} failed${message && message !== 'failed' ? `: ${message}` : ''}`;
}

function Entry({ entry, bare }: { entry: LogEntry; bare: boolean }) {
  if (entry.kind === 'line') return <Line m={entry.message} bare={bare} />;
  if (entry.kind === 'dropped')
    return <div class="log-note">{`… ${entry.count} lines dropped (the connection was too slow)`}</div>;
  const state = entry.build === null ? 'log-note' : entry.ok ? 'log-end log-ok' : 'log-end log-failed';
  return <div class={state}>{outcomeText(entry.build, entry.ok, entry.message)}</div>;
}

/**
 * Log lines in a scrolling region (role="log"), monospace, wrapped at any width. Following, it
 * keeps the newest line in sight; otherwise it stays where the reader scrolled. `bare` leaves out
 * each line's source and origin (one build's own page says them once).
 */
export function LogView(props: {
  entries: readonly LogEntry[];
  label: string;
  follow: boolean;
  empty: string;
  bare?: boolean;
}) {
  const region = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = region.current;
    if (props.follow && el) el.scrollTop = el.scrollHeight;
  }, [props.entries, props.follow]);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
    <div ref={region} role="log" aria-label={props.label} tabIndex={0} class="log-view">
      {props.entries.length === 0 ? (
        <p class="log-empty">{props.empty}</p>
      ) : (
        props.entries.map((entry) => <Entry key={entry.id} entry={entry} bare={props.bare ?? false} />)
      )}
    </div>
  );
}
