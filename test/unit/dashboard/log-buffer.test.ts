import { describe, expect, it } from 'vitest';
import type { LogMessage } from '../../../cli/api-types.ts';
import { LogBuffer, type LogEntry } from '../../../dashboard/src/logs/log-buffer.ts';
import { compareTimes, formatDuration } from '../../../dashboard/src/logs/time.ts';

const build = (seq: number, id = 7): LogMessage => ({
  type: 'line',
  source: 'build',
  build: id,
  seq,
  at: `2026-11-25T04:00:0${seq % 10}.000Z`,
  line: `step ${seq}`,
});
const app = (at: string, line: string, instance = 'aaaa'): LogMessage => ({
  type: 'line',
  source: 'app',
  at,
  rack: 'local-a',
  instance,
  service: 'web',
  stream: 'stdout',
  line,
});
const texts = (entries: LogEntry[]) =>
  entries.map((e) => (e.kind === 'line' ? e.message.line : e.kind === 'end' ? `end ${e.ok}` : `dropped ${e.count}`));

describe('the log buffer', () => {
  it('asks for the latest build and every source the first time', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'all' });
    expect(buffer.query()).toEqual({ environment: 'production', source: 'all', tail: '1' });
  });

  it('resumes a running build after its last line and drops the lines it has', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'build', build: 7 });
    buffer.beginConnection();
    for (const seq of [1, 2, 3]) buffer.accept(build(seq));
    expect(buffer.query()).toEqual({ environment: 'production', source: 'build', tail: '1', build: '7', since: '3' });
    buffer.beginConnection();
    // a server that replays from an older seq: the repeats go, the rest arrive once
    for (const seq of [2, 3, 4]) buffer.accept(build(seq));
    buffer.accept({ type: 'end', source: 'build', build: 7, ok: true, message: 'v3 deployed' });
    buffer.accept({ type: 'end', source: 'build', build: 7, ok: true, message: 'v3 deployed' });
    expect(texts(buffer.snapshot())).toEqual(['step 1', 'step 2', 'step 3', 'step 4', 'end true']);
  });

  it('follows the latest build again once the one it showed has ended', () => {
    const buffer = new LogBuffer({ environment: 'staging', source: 'all' });
    buffer.accept(build(1));
    buffer.accept({ type: 'end', source: 'build', build: 7, ok: false, message: 'build failed' });
    expect(buffer.query()).toEqual({ environment: 'staging', source: 'all', tail: '1' });
    buffer.beginConnection();
    buffer.accept(build(1)); // the same build replayed: a repeat
    buffer.accept(build(1, 8)); // a newer build: new lines
    expect(texts(buffer.snapshot())).toEqual(['step 1', 'end false', 'step 1']);
    expect(buffer.query()).toMatchObject({ build: '8', since: '1' });
  });

  it('resumes app lines after the last time seen, dropping only the copies it holds at that time', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'all' });
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:01.5Z', 'one'));
    buffer.accept(app('2026-11-25T04:00:02.000000100Z', 'two'));
    buffer.accept(app('2026-11-25T04:00:02.000000100Z', 'same time', 'bbbb'));
    expect(buffer.query().after).toBe('2026-11-25T04:00:02.000000100Z');
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:01.5Z', 'one')); // before the boundary: a repeat
    buffer.accept(app('2026-11-25T04:00:02.000000100Z', 'two')); // at it and held: a repeat
    buffer.accept(app('2026-11-25T04:00:02.000000100Z', 'missed at the same time'));
    buffer.accept(app('2026-11-25T04:00:03Z', 'three'));
    buffer.accept(app('2026-11-25T04:00:03Z', 'three')); // a line printed twice, live: two lines
    expect(texts(buffer.snapshot())).toEqual(['one', 'two', 'same time', 'missed at the same time', 'three', 'three']);
  });

  it('keeps a line that arrives late from another instance while connected', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'app' });
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:05Z', 'b', 'bbbb'));
    buffer.accept(app('2026-11-25T04:00:04Z', 'a', 'aaaa'));
    expect(texts(buffer.snapshot())).toEqual(['b', 'a']);
    expect(buffer.query().after).toBe('2026-11-25T04:00:05Z');
  });

  it('keeps only the last lines, but counts everything it accepted', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'build', build: 7 }, 10);
    for (let seq = 1; seq <= 25; seq++) buffer.accept(build(seq));
    buffer.accept({ type: 'dropped', count: 4 });
    const kept = buffer.snapshot();
    expect(kept).toHaveLength(10);
    expect(texts(kept).at(-1)).toBe('dropped 4');
    expect(texts(kept)[0]).toBe('step 17');
    expect(buffer.accepted).toBe(26);
    expect(new Set(kept.map((e) => e.id)).size).toBe(10);
  });

  it('shows "no builds yet" once, however often it reconnects', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'all' });
    const none: LogMessage = { type: 'end', source: 'build', build: null, ok: false, message: 'no such build' };
    expect(buffer.accept(none)).toBe(true);
    buffer.beginConnection();
    expect(buffer.accept(none)).toBe(false);
  });
});

describe('log times', () => {
  it('orders ISO times of any precision', () => {
    expect(compareTimes('2026-11-25T04:00:02Z', '2026-11-25T04:00:02.5Z')).toBeLessThan(0);
    expect(compareTimes('2026-11-25T04:00:02.000000002Z', '2026-11-25T04:00:02.000000001Z')).toBeGreaterThan(0);
    expect(compareTimes('2026-11-25T04:00:02.100Z', '2026-11-25T04:00:02.1Z')).toBe(0);
    expect(compareTimes('2026-11-25T05:00:00+01:00', '2026-11-25T04:00:00Z')).toBe(0);
  });

  it('says durations briefly', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(3_456)).toBe('3.5s');
    expect(formatDuration(9_960)).toBe('10s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });
});
