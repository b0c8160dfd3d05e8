import type { DeployStep, TimelineRelease } from '../../../contract/api.ts';

type TimelineStep = DeployStep;
type TimelinePhase = DeployStep['phase'];

import { dayAndTime, formatDuration } from '../logs/time.ts';

/**
 * The deploy timeline's geometry, as a pure function of the releases, the chart's width in CSS
 * pixels and the current time (for steps still running).
 *
 * Why each row starts at its own release's first step instead of one absolute time axis:
 * releases are minutes to days apart while a deploy takes seconds to minutes, so on a shared
 * clock every bar would be a sliver and the gaps between deploys would fill the chart. Aligned
 * rows answer what the chart is for: how long each phase took, and how this deploy compares with
 * the previous ones (one duration scale for every row). When each release happened is written in
 * its row heading and in the table.
 */

type StepState = 'ok' | 'failed' | 'running';

export interface BarLayout {
  phase: TimelinePhase;
  state: StepState;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The duration written next to the bar (or inside its end when there is no room beside it). */
  label: { text: string; x: number; anchor: 'start' | 'end'; inside: boolean };
  /** The tooltip: everything about the step in words. */
  title: string;
}

interface LaneLayout {
  /** "build", "release phase", "rollout local-a", shortened to fit the label column. */
  label: string;
  fullLabel: string;
  /** Baseline of the lane's label text. */
  textY: number;
  bar: BarLayout;
}

export interface RowLayout {
  version: number;
  /** "succeeded · 25 Nov 04:10:05" */
  detail: string;
  y: number;
  height: number;
  lanes: LaneLayout[];
}

interface TimelineLayout {
  width: number;
  height: number;
  plot: { x0: number; x1: number; top: number; bottom: number };
  ticks: { x: number; label: string; anchor: 'start' | 'middle' | 'end' }[];
  rows: RowLayout[];
}

const AXIS_HEIGHT = 28;
const ROW_HEADING = 22;
const LANE = 20;
const BAR = 12;
const ROW_GAP = 10;
const RIGHT_MARGIN = 8;
/** Rough width of one character of the 11px labels: enough to decide what fits. */
const CHAR_WIDTH = 6.4;
const MIN_TICK_SPACING = 64;
const NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];
const PHASE_ORDER: Record<TimelinePhase, number> = { build: 0, 'release-phase': 1, rollout: 2 };

export const phaseLabel = (step: Pick<TimelineStep, 'phase' | 'rack'>): string =>
  step.phase === 'build'
    ? 'build'
    : step.phase === 'release-phase'
      ? 'release phase'
      : `rollout ${step.rack ?? ''}`.trim();

export const stepState = (step: TimelineStep): StepState =>
  step.finishedAt === null ? 'running' : step.ok === false ? 'failed' : 'ok';

const time = (iso: string) => new Date(iso).getTime();

/** How long a step took, or has taken so far. */
export const stepDuration = (step: TimelineStep, now: number): number =>
  Math.max(0, (step.finishedAt === null ? now : time(step.finishedAt)) - time(step.startedAt));

/** The steps in the order they are drawn: build, release phase, then each rack's rollout as it started. */
export const orderedSteps = (steps: TimelineStep[]): TimelineStep[] =>
  [...steps].sort((a, b) => PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || time(a.startedAt) - time(b.startedAt));

function releaseSpan(release: TimelineRelease, now: number): { start: number; span: number } {
  if (release.steps.length === 0) return { start: time(release.createdAt), span: 0 };
  const start = Math.min(...release.steps.map((s) => time(s.startedAt)));
  const end = Math.max(...release.steps.map((s) => time(s.startedAt) + stepDuration(s, now)));
  return { start, span: end - start };
}

/** A tick spacing from a list of round durations that leaves ticks at least MIN_TICK_SPACING apart. */
export function tickStepMs(spanMs: number, plotWidth: number): number {
  const maxTicks = Math.max(1, Math.floor(plotWidth / MIN_TICK_SPACING));
  const step = NICE_STEPS_S.find((s) => spanMs / (s * 1000) <= maxTicks) ?? NICE_STEPS_S.at(-1)!;
  return step * 1000;
}

/** "0", "45s", "1m", "1m 30s", "2h": an axis label. */
export function tickLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s === 0) return '0';
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m ${s % 60}s`;
  const m = Math.round(s / 60);
  return m % 60 === 0 ? `${m / 60}h` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

function fit(text: string, width: number): string {
  const max = Math.max(3, Math.floor(width / CHAR_WIDTH));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function durationText(step: TimelineStep, now: number): string {
  const state = stepState(step);
  const took = formatDuration(stepDuration(step, now));
  return state === 'ok' ? took : `${took} ${state}`;
}

/** The duration label beside the bar: right of it, else left of it, else inside its end. */
function placeLabel(text: string, x: number, width: number, plot: { x0: number; x1: number }): BarLayout['label'] {
  const textWidth = text.length * CHAR_WIDTH;
  if (x + width + 4 + textWidth <= plot.x1) return { text, x: x + width + 4, anchor: 'start', inside: false };
  if (x - 4 - textWidth >= plot.x0) return { text, x: x - 4, anchor: 'end', inside: false };
  return { text, x: x + width - 4, anchor: 'end', inside: true };
}

interface Scale {
  x0: number;
  x1: number;
  start: number;
  domainMs: number;
}

function laneOf(release: TimelineRelease, step: TimelineStep, y: number, scale: Scale, now: number): LaneLayout {
  const plotWidth = scale.x1 - scale.x0;
  const x = scale.x0 + ((time(step.startedAt) - scale.start) / scale.domainMs) * plotWidth;
  const width = Math.max(2, (stepDuration(step, now) / scale.domainMs) * plotWidth);
  const fullLabel = phaseLabel(step);
  const text = durationText(step, now);
  const title = `v${release.version} ${fullLabel}: started ${dayAndTime(step.startedAt)}, ${text}`;
  return {
    label: fit(fullLabel, scale.x0 - 12),
    fullLabel,
    textY: y + LANE / 2 + 4,
    bar: {
      phase: step.phase,
      state: stepState(step),
      x,
      y: y + (LANE - BAR) / 2,
      width,
      height: BAR,
      label: placeLabel(text, x, width, scale),
      title,
    },
  };
}

export function layoutTimeline(releases: TimelineRelease[], width: number, now: number): TimelineLayout {
  const x0 = Math.round(Math.min(170, Math.max(110, width * 0.3)));
  const x1 = Math.max(x0 + 40, width - RIGHT_MARGIN);
  const spans = releases.map((r) => releaseSpan(r, now));
  const longest = Math.max(1000, ...spans.map((s) => s.span));
  const step = tickStepMs(longest, x1 - x0);
  const domainMs = Math.ceil(longest / step) * step;
  let y = AXIS_HEIGHT;
  const rows = releases.map((release, i): RowLayout => {
    const scale = { x0, x1, start: spans[i]!.start, domainMs };
    const steps = orderedSteps(release.steps);
    const lanes = steps.map((s, lane) => laneOf(release, s, y + ROW_HEADING + lane * LANE, scale, now));
    const height = ROW_HEADING + Math.max(1, lanes.length) * LANE + ROW_GAP;
    const row = {
      version: release.version,
      detail: `${release.status} · ${dayAndTime(release.createdAt)}`,
      y,
      height,
      lanes,
    };
    y += height;
    return row;
  });
  const ticks: TimelineLayout['ticks'] = [];
  for (let ms = 0; ms <= domainMs; ms += step) {
    const anchor = ms === 0 ? 'start' : ms === domainMs ? 'end' : 'middle';
    ticks.push({ x: x0 + (ms / domainMs) * (x1 - x0), label: tickLabel(ms), anchor });
  }
  return { width, height: y, plot: { x0, x1, top: AXIS_HEIGHT, bottom: y }, ticks, rows };
}
