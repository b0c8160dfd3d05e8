import type { TimelineRelease } from '../../../cli/api-types.ts';
import { dayAndTime, formatDuration } from '../logs/time.ts';
import { orderedSteps, phaseLabel, stepDuration, stepState } from './layout.ts';

const PHASE_NAMES = { build: 'Build', 'release-phase': 'Release phase', rollout: 'Rollout' } as const;

/** The chart's data as a table, for screen readers, keyboard users and exact figures. */
export function TimelineTable(props: { releases: TimelineRelease[]; environment: string; now: number }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the table scrolls sideways on a phone: focusable to scroll by keyboard
    <section class="tl-table-box" aria-label="Deploy steps" tabIndex={0}>
      <table class="tl-table">
        <caption>{`Deploy steps of ${props.environment}, newest release first`}</caption>
        <thead>
          <tr>
            <th scope="col">Release</th>
            <th scope="col">Phase</th>
            <th scope="col">Rack</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {props.releases.map((release) =>
            release.steps.length === 0 ? (
              <tr key={release.version}>
                <th scope="row">{`v${release.version}`}</th>
                <td colSpan={5}>{`${release.status}: no steps recorded`}</td>
              </tr>
            ) : (
              orderedSteps(release.steps).map((step) => (
                <tr key={`${release.version} ${phaseLabel(step)} ${step.startedAt}`} class={`tl-${stepState(step)}`}>
                  <th scope="row">{`v${release.version}`}</th>
                  <td>{PHASE_NAMES[step.phase]}</td>
                  <td>{step.rack ?? '—'}</td>
                  <td>
                    <time dateTime={step.startedAt}>{dayAndTime(step.startedAt)}</time>
                  </td>
                  <td>{formatDuration(stepDuration(step, props.now))}</td>
                  <td class="tl-outcome">{stepState(step)}</td>
                </tr>
              ))
            ),
          )}
        </tbody>
      </table>
    </section>
  );
}
