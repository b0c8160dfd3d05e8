import { describe, expect, it } from 'vitest';
import { matches, NO_FILTER, valuesSeen } from '../../../dashboard/src/logs/filter.ts';
import type { LogEntry } from '../../../dashboard/src/logs/log-buffer.ts';

const at = '2026-11-25T04:00:00Z';
const appLine = (id: number, rack: string, service: string): LogEntry => ({
  kind: 'line',
  id,
  message: { type: 'line', source: 'app', at, rack, instance: 'abc', service, stream: 'stdout', line: 'hi' },
});
const entries: LogEntry[] = [
  { kind: 'line', id: 1, message: { type: 'line', source: 'build', build: 3, seq: 1, at, line: 'building' } },
  { kind: 'end', id: 2, build: 3, ok: true, message: 'v2 deployed' },
  appLine(3, 'local-b', 'worker'),
  appLine(4, 'local-a', 'web'),
  {
    kind: 'line',
    id: 5,
    message: {
      type: 'line',
      source: 'router',
      at,
      method: 'GET',
      path: '/',
      status: 200,
      ms: 3,
      line: 'GET / 200 3ms',
    },
  },
  { kind: 'dropped', id: 6, count: 2 },
];
const ids = (f: typeof NO_FILTER) => entries.filter((e) => matches(e, f)).map((e) => e.id);

describe('the Logs tab filter', () => {
  it('shows everything unfiltered, and a build end with the build lines', () => {
    expect(ids(NO_FILTER)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ids({ ...NO_FILTER, source: 'build' })).toEqual([1, 2, 6]);
    expect(ids({ ...NO_FILTER, source: 'router' })).toEqual([5, 6]);
  });

  it('narrows to app lines of a service and rack', () => {
    expect(ids({ ...NO_FILTER, service: 'web' })).toEqual([4, 6]);
    expect(ids({ ...NO_FILTER, rack: 'local-b' })).toEqual([3, 6]);
    expect(ids({ source: 'app', service: 'web', rack: 'local-b' })).toEqual([6]);
  });

  it('offers the services and racks it has seen', () => {
    expect(valuesSeen(entries)).toEqual({ services: ['web', 'worker'], racks: ['local-a', 'local-b'] });
  });
});
