import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { DeployStep, TimelineRelease } from '../../../contract/api.ts';
import { type BarLayout, layoutTimeline, type RowLayout } from './layout.ts';
import './timeline.css';

/** Each phase has a pattern as well as a colour, so the phases differ without colour vision too. */
export const PHASE_FILL: Record<DeployStep['phase'], string> = {
  build: 'url(#tl-solid)',
  'release-phase': 'url(#tl-stripes)',
  rollout: 'url(#tl-dots)',
};

/** Pattern definitions the bars and the legend's swatches refer to (one chart per page). */
function Patterns() {
  return (
    <defs>
      <pattern id="tl-solid" width="4" height="4" patternUnits="userSpaceOnUse">
        <rect width="4" height="4" class="tl-fill-build" />
      </pattern>
      <pattern id="tl-stripes" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <rect width="6" height="6" class="tl-fill-release" />
        <rect width="2" height="6" class="tl-stripe" />
      </pattern>
      <pattern id="tl-dots" width="5" height="5" patternUnits="userSpaceOnUse">
        <rect width="5" height="5" class="tl-fill-rollout" />
        <circle cx="2.5" cy="2.5" r="1.1" class="tl-dot" />
      </pattern>
    </defs>
  );
}

function Bar({ bar }: { bar: BarLayout }) {
  const labelY = bar.y + bar.height - 2;
  return (
    <g class={`tl-step tl-${bar.state}`}>
      <rect
        class="tl-bar"
        x={bar.x}
        y={bar.y}
        width={bar.width}
        height={bar.height}
        fill={PHASE_FILL[bar.phase]}
        rx="2"
      >
        <title>{bar.title}</title>
      </rect>
      <text
        class={bar.label.inside ? 'tl-duration tl-duration-inside' : 'tl-duration'}
        x={bar.label.x}
        y={labelY}
        text-anchor={bar.label.anchor}
      >
        {bar.label.text}
      </text>
    </g>
  );
}

function Row({ row, width, shaded }: { row: RowLayout; width: number; shaded: boolean }) {
  return (
    <g class="tl-row">
      {shaded && <rect class="tl-row-shade" x="0" y={row.y} width={width} height={row.height - 4} />}
      <text class="tl-version" x="6" y={row.y + 15}>{`v${row.version}`}</text>
      <text class="tl-detail" x="54" y={row.y + 15}>
        {row.detail}
      </text>
      {row.lanes.length === 0 && (
        <text class="tl-lane-label" x="14" y={row.y + 22 + 14}>
          no steps recorded
        </text>
      )}
      {row.lanes.map((lane) => (
        <g key={lane.fullLabel + lane.bar.x}>
          <text class="tl-lane-label" x="14" y={lane.textY}>
            {lane.label}
            {lane.label !== lane.fullLabel && <title>{lane.fullLabel}</title>}
          </text>
          <Bar bar={lane.bar} />
        </g>
      ))}
    </g>
  );
}

/** The chart's width follows its container, so text keeps its size on a phone instead of being scaled down. */
function useWidth(fallback: number) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.floor(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { box, width };
}

/** The releases as an SVG chart: one row per release, a bar per step, x = time since the release's first step. */
export function TimelineChart(props: { releases: TimelineRelease[]; environment: string; now: number }) {
  const { box, width } = useWidth(640);
  const chart = layoutTimeline(props.releases, width, props.now);
  const { plot } = chart;
  return (
    <div ref={box} class="tl-chart-box">
      <svg
        role="img"
        aria-label={`Deploy timeline of ${props.environment}`}
        class="tl-chart"
        width={chart.width}
        height={chart.height}
        viewBox={`0 0 ${chart.width} ${chart.height}`}
      >
        <Patterns />
        {chart.rows.map((row, i) => (
          <Row key={row.version} row={row} width={chart.width} shaded={i % 2 === 0} />
        ))}
        {chart.ticks.map((tick) => (
          <g key={tick.label} class="tl-tick">
            <line x1={tick.x} x2={tick.x} y1={plot.top - 6} y2={plot.bottom} />
            <text x={tick.x} y={plot.top - 10} text-anchor={tick.anchor}>
              {tick.label}
            </text>
          </g>
        ))}
      </svg>
    </div>
  );
}

/** What the bars' fills and outlines mean. */
export function TimelineLegend() {
  const swatch = (fill: string, state = 'ok') => (
    <svg class={`tl-swatch tl-${state}`} width="28" height="14" aria-hidden="true">
      <rect class="tl-bar" x="1" y="1" width="26" height="12" rx="2" fill={fill} />
    </svg>
  );
  return (
    <ul class="tl-legend" aria-label="Legend">
      <li>{swatch(PHASE_FILL.build)} Build</li>
      <li>{swatch(PHASE_FILL['release-phase'])} Release phase</li>
      <li>{swatch(PHASE_FILL.rollout)} Rollout (one bar per rack)</li>
      <li>{swatch('none', 'failed')} Failed (red outline, “failed”)</li>
      <li>{swatch('none', 'running')} Still running (dashed, “running”)</li>
    </ul>
  );
}
