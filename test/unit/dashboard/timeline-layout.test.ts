import { describe, expect, it } from 'vitest';
import type { TimelineRelease, DeployStep as TimelineStep } from '../../../contract/api.ts';
import { layoutTimeline, tickLabel, tickStepMs } from '../../../dashboard/src/timeline/layout.ts';

const t = (s: number) => new Date(Date.UTC(2026, 10, 25, 4, 0, 0) + s * 1000).toISOString();
const step = (
  phase: TimelineStep['phase'],
  from: number,
  to: number | null,
  rack: string | null = null,
  ok = true,
) => ({
  phase,
  rack,
  startedAt: t(from),
  finishedAt: to === null ? null : t(to),
  ok: to === null ? null : ok,
});
const release = (version: number, steps: TimelineStep[], createdAt = t(0)): TimelineRelease => ({
  version,
  description: `Deploy ${version}`,
  status: 'succeeded',
  createdAt,
  steps,
});

describe('the timeline layout', () => {
  // v2 a day after v1: on one clock its bars would be slivers; aligned, both use the width
  const v2 = release(2, [
    step('rollout', 86_460, 86_470, 'local-b'),
    step('build', 86_400, 86_450),
    step('rollout', 86_450, 86_460, 'local-a'),
  ]);
  const v1 = release(1, [
    step('build', 0, 30),
    step('release-phase', 30, 35),
    step('rollout', 35, 40, 'local-a', false),
  ]);
  const chart = layoutTimeline([v2, v1], 800, Date.parse(t(90_000)));

  it('starts every release at its own first step, on one duration scale', () => {
    const [row2, row1] = chart.rows;
    expect(row2!.lanes[0]!.bar.x).toBe(chart.plot.x0);
    expect(row1!.lanes[0]!.bar.x).toBe(chart.plot.x0);
    const perSecond = (chart.plot.x1 - chart.plot.x0) / 70_000; // v2 spans 70 s: the axis ends on a round 70 s or more
    expect(row2!.lanes[0]!.bar.width).toBeLessThanOrEqual(50_000 * perSecond + 0.001);
    expect(row1!.lanes[0]!.bar.width / row2!.lanes[0]!.bar.width).toBeCloseTo(30 / 50);
  });

  it('draws build, release phase, then each rack in the order it started, under one row per release', () => {
    expect(chart.rows.map((r) => r.version)).toEqual([2, 1]);
    expect(chart.rows[0]!.lanes.map((l) => l.fullLabel)).toEqual(['build', 'rollout local-a', 'rollout local-b']);
    expect(chart.rows[1]!.y).toBe(chart.rows[0]!.y + chart.rows[0]!.height);
    expect(chart.height).toBe(chart.rows[1]!.y + chart.rows[1]!.height);
  });

  it('says in words which step failed and which still runs', () => {
    expect(chart.rows[1]!.lanes[2]!.bar.state).toBe('failed');
    expect(chart.rows[1]!.lanes[2]!.bar.label.text).toBe('5.0s failed');
    const running = layoutTimeline([release(3, [step('build', 0, null)])], 800, Date.parse(t(12)));
    expect(running.rows[0]!.lanes[0]!.bar.state).toBe('running');
    expect(running.rows[0]!.lanes[0]!.bar.label.text).toBe('12s running');
    expect(running.rows[0]!.lanes[0]!.bar.title).toContain('v3 build: started');
  });

  it('puts a duration inside the bar when neither side has room', () => {
    const whole = layoutTimeline([release(5, [step('build', 0, 60)])], 800, Date.parse(t(90)));
    const long = whole.rows[0]!.lanes[0]!.bar;
    expect(long.label.inside).toBe(true);
    expect(long.label.x).toBeLessThanOrEqual(long.x + long.width);
    const short = chart.rows[1]!.lanes[1]!.bar;
    expect(short.label).toMatchObject({ inside: false, anchor: 'start' });
  });

  it('keeps everything inside the chart at phone width', () => {
    const narrow = layoutTimeline([v2, v1], 343, Date.parse(t(90_000)));
    for (const lane of narrow.rows.flatMap((r) => r.lanes)) {
      expect(lane.bar.x + lane.bar.width).toBeLessThanOrEqual(narrow.plot.x1 + 0.001);
      expect(lane.label.length * 6.4).toBeLessThanOrEqual(narrow.plot.x0);
    }
    expect(narrow.ticks.length).toBeGreaterThanOrEqual(2);
    expect(narrow.ticks.at(-1)!.x).toBeCloseTo(narrow.plot.x1);
  });

  it('gives a release without steps a row of its own', () => {
    const empty = layoutTimeline([release(4, [])], 600, Date.now());
    expect(empty.rows[0]!.lanes).toEqual([]);
    expect(empty.rows[0]!.height).toBeGreaterThan(0);
  });
});

describe('the time axis', () => {
  it('picks round tick spacings that fit the width', () => {
    expect(tickStepMs(70_000, 640)).toBe(10_000); // 10 ticks fit: 7 steps of 10 s
    expect(tickStepMs(70_000, 200)).toBe(30_000);
    expect(tickStepMs(3_000, 640)).toBe(1_000);
    expect(tickStepMs(2 * 3_600_000, 400)).toBe(1_800_000);
  });

  it('labels ticks briefly', () => {
    expect([0, 45_000, 60_000, 90_000, 7_200_000, 5_400_000].map(tickLabel)).toEqual([
      '0',
      '45s',
      '1m',
      '1m 30s',
      '2h',
      '1h 30m',
    ]);
  });
});
