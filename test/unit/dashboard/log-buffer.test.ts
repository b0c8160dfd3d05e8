import { describe, expect, it } from 'vitest';
import type { LogMessage } from '../../../contract/api.ts';
import { LogBuffer, type LogEntry, RESUME_MARGIN_MS } from '../../../dashboard/src/logs/log-buffer.ts';
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
const router = (at: string, path: string): LogMessage => ({
  type: 'line',
  source: 'router',
  at,
  method: 'GET',
  path,
  status: 200,
  ms: 1,
  line: `GET ${path} 200 1ms`,
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

  it('resumes app and router lines a margin before the newest time, dropping the copies it holds', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'all' });
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:01.5Z', 'one'));
    buffer.accept(app('2026-11-25T04:00:10.000000100Z', 'two'));
    buffer.accept(app('2026-11-25T04:00:10.000000100Z', 'same time', 'bbbb'));
    expect(buffer.query().after).toBe(new Date(Date.parse('2026-11-25T04:00:10Z') - RESUME_MARGIN_MS).toISOString());
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:01.5Z', 'one')); // before the resume point: a repeat
    buffer.accept(app('2026-11-25T04:00:10.000000100Z', 'two')); // held: a repeat
    buffer.accept(app('2026-11-25T04:00:10.000000100Z', 'missed at the same time'));
    buffer.accept(app('2026-11-25T04:00:11Z', 'three'));
    buffer.accept(app('2026-11-25T04:00:11Z', 'three')); // a line printed twice, live: two lines
    expect(texts(buffer.snapshot())).toEqual(['one', 'two', 'same time', 'missed at the same time', 'three', 'three']);
    buffer.beginConnection();
    for (const copy of ['three', 'three', 'three']) buffer.accept(app('2026-11-25T04:00:11Z', copy));
    expect(texts(buffer.snapshot()).filter((t) => t === 'three')).toHaveLength(3); // two held, one new
  });

  it('gets back router lines that were still on their way when newer app lines arrived', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'all' });
    buffer.beginConnection();
    buffer.accept(router('2026-11-25T04:00:04.023Z', '/r3'));
    buffer.accept(app('2026-11-25T04:00:04.719429124Z', 'tick'));
    // dropped here; /r4 (04.130) was not read from the access log yet
    const after = buffer.query().after!;
    expect(Date.parse(after)).toBeLessThan(Date.parse('2026-11-25T04:00:04.130Z'));
    buffer.beginConnection();
    buffer.accept(router('2026-11-25T04:00:04.023Z', '/r3'));
    buffer.accept(router('2026-11-25T04:00:04.130Z', '/r4'));
    buffer.accept(app('2026-11-25T04:00:04.719429124Z', 'tick'));
    expect(texts(buffer.snapshot())).toEqual(['GET /r3 200 1ms', 'tick', 'GET /r4 200 1ms']);
  });

  it('keeps a line that arrives late from another instance while connected', () => {
    const buffer = new LogBuffer({ environment: 'production', source: 'app' });
    buffer.beginConnection();
    buffer.accept(app('2026-11-25T04:00:05Z', 'b', 'bbbb'));
    buffer.accept(app('2026-11-25T04:00:04Z', 'a', 'aaaa'));
    expect(texts(buffer.snapshot())).toEqual(['b', 'a']);
    // never before the first line shown: what came before it was never part of the view
    expect(buffer.query().after).toBe('2026-11-25T04:00:05.000Z');
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
