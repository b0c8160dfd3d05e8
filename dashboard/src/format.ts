/** Dates and durations in the few words an operator reads at a glance. */

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "5 minutes ago", "yesterday", "just now". */
export function timeAgo(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'minute') return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export const fullTime = (iso: string) => new Date(iso).toLocaleString();

/** "42 s", "3 min 5 s", "1 h 2 min". */
export function formatSeconds(total: number): string {
  const seconds = Math.max(0, Math.round(total));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** From start to end, or to now while it still runs. */
export const durationBetween = (startIso: string, endIso: string | null, now = Date.now()) =>
  formatSeconds(((endIso ? Date.parse(endIso) : now) - Date.parse(startIso)) / 1000);

export const shortCommit = (commit: string | null) => (commit ? commit.slice(0, 7) : '—');
