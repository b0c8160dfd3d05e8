import { useEffect, useState } from 'preact/hooks';
import type { Timeline } from '../../../contract/api.ts';
import { appPath } from '../api.ts';
import { WhenLoaded } from '../components/feedback.tsx';
import { useApi } from '../hooks.ts';
import { TimelineChart, TimelineLegend } from '../timeline/timeline-chart.tsx';
import { TimelineTable } from '../timeline/timeline-table.tsx';

/** While a deploy runs, the timeline is read again this often so its bars grow; otherwise now and then for new deploys. */
const REFRESH_RUNNING_MS = 2000;
const REFRESH_IDLE_MS = 15_000;

const isRunning = (t: Timeline) =>
  t.releases.some((r) => r.status === 'deploying' || r.steps.some((s) => s.finishedAt === null));

/** How the latest deploys of one environment went, phase by phase: a chart and the same data as a table. */
export function TimelineTab(props: { app: string; environment: string }) {
  const path = appPath(props.app, '/timeline', props.environment);
  const [running, setRunning] = useState(false);
  const read = useApi<Timeline>(path, running ? REFRESH_RUNNING_MS : REFRESH_IDLE_MS);
  useEffect(() => setRunning(read.data !== undefined && isRunning(read.data)), [read.data]);
  const now = Date.now();
  return (
    <section class="timeline-tab">
      <h2>Deploy timeline</h2>
      <WhenLoaded read={read} what="the timeline">
        {(timeline) =>
          timeline.releases.length === 0 ? (
            <p class="tl-empty">{`No releases in ${props.environment} yet: the first git push deploys one.`}</p>
          ) : (
            <>
              <p class="tl-note">
                Each row starts at its release's first step: the axis is the time since then, the same scale for every
                release.
              </p>
              <TimelineLegend />
              <TimelineChart releases={timeline.releases} environment={props.environment} now={now} />
              <TimelineTable releases={timeline.releases} environment={props.environment} now={now} />
            </>
          )
        }
      </WhenLoaded>
    </section>
  );
}
