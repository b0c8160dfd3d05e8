import type { LogEntry } from './log-buffer.ts';

export type SourceChoice = 'all' | 'build' | 'app' | 'router';

/** What the Logs tab's selects narrow the view to; 'all' lets everything through. */
export interface LogFilter {
  source: SourceChoice;
  service: string;
  rack: string;
}

export const NO_FILTER: LogFilter = { source: 'all', service: 'all', rack: 'all' };

/** Whether an entry shows under the filter: a service or rack choice keeps only app lines of it. */
export function matches(entry: LogEntry, f: LogFilter): boolean {
  if (entry.kind === 'dropped') return true; // missed lines concern every filter
  const source = entry.kind === 'end' ? 'build' : entry.message.source;
  if (f.source !== 'all' && f.source !== source) return false;
  if (f.service === 'all' && f.rack === 'all') return true;
  if (entry.kind !== 'line' || entry.message.source !== 'app') return false;
  return (
    (f.service === 'all' || entry.message.service === f.service) && (f.rack === 'all' || entry.message.rack === f.rack)
  );
}

/** The services and racks the app lines came from, sorted: the choices of the Service and Rack selects. */
export function valuesSeen(entries: readonly LogEntry[]): { services: string[]; racks: string[] } {
  const services = new Set<string>();
  const racks = new Set<string>();
  for (const e of entries) {
    if (e.kind !== 'line' || e.message.source !== 'app') continue;
    services.add(e.message.service);
    racks.add(e.message.rack);
  }
  return { services: [...services].sort(), racks: [...racks].sort() };
}
