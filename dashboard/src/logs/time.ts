/**
 * Times as the log stream and the API give them: ISO 8601 strings whose fraction may carry
 * anything from none to nine digits (Docker's timestamps are in nanoseconds), so neither
 * Date.parse (milliseconds) nor comparing the strings (".5Z" against "Z") orders them right.
 */

const ISO = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/;

/** Whole milliseconds since the epoch and the nanoseconds below them, or undefined for a time that is not one. */
function instant(iso: string): [number, number] | undefined {
  const m = ISO.exec(iso);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const ms = Date.parse(`${m[1]}.${fraction.slice(0, 3)}${m[3] ?? 'Z'}`);
  return Number.isNaN(ms) ? undefined : [ms, Number(fraction.slice(3))];
}

/** Negative, zero or positive as `a` is before, at or after `b`; times that do not parse compare as text. */
export function compareTimes(a: string, b: string): number {
  const x = instant(a);
  const y = instant(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x[0] - y[0] || x[1] - y[1];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** HH:MM:SS in the viewer's time zone (the full time goes in a title / datetime attribute). */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "25 Nov 04:10:05" in the viewer's time zone. */
export function dayAndTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${clockTime(iso)}`;
}

/** "850ms", "3.5s", "45s", "2m 05s", "1h 02m": short enough for a bar's label. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}
