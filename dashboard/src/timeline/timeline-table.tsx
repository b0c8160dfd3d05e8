import type { TimelineRelease } from '../../../contract/api.ts';
import { DataTable, StatusBadge } from '../components/bits.tsx';
import { dayAndTime, formatDuration } from '../logs/time.ts';
import { orderedSteps, phaseLabel, stepDuration, stepState } from './layout.ts';

const PHASE_NAMES = { build: 'Build', 'release-phase': 'Release phase', rollout: 'Rollout' } as const;
const COLUMNS = ['Release', 'Phase', 'Rack', 'Started', 'Duration', 'Outcome'];
/** The outcome in the words (and badge colours) the other tabs use for builds and releases. */
const OUTCOME = { ok: 'succeeded', failed: 'failed', running: 'running' } as const;

/** The chart's data as a table, for screen readers, keyboard users and exact figures. */
export function TimelineTable(props: { releases: TimelineRelease[]; environment: string; now: number }) {
  const title = `Deploy steps of ${props.environment}, newest release first`;
  return (
    <>
      <h3 class="tl-table-title">Deploy steps</h3>
      <DataTable caption={title} columns={COLUMNS}>
        {props.releases.map((release) =>
          release.steps.length === 0 ? (
            <tr key={release.version}>
              <th scope="row">{`v${release.version}`}</th>
              <td colSpan={5}>{`${release.status}: no steps recorded`}</td>
            </tr>
          ) : (
            orderedSteps(release.steps).map((step) => (
              <tr key={`${release.version} ${phaseLabel(step)} ${step.startedAt}`}>
                <th scope="row">{`v${release.version}`}</th>
                <td>{PHASE_NAMES[step.phase]}</td>
                <td>{step.rack ?? '—'}</td>
                <td>
                  <time dateTime={step.startedAt}>{dayAndTime(step.startedAt)}</time>
                </td>
                <td>{formatDuration(stepDuration(step, props.now))}</td>
                <td>
                  <StatusBadge status={OUTCOME[stepState(step)]} />
                </td>
              </tr>
            ))
          ),
        )}
      </DataTable>
    </>
  );
}
