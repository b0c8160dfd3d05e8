import type { Build, BuildLogLines } from '../../../contract/api.ts';
import { appPath } from '../api.ts';
import { StatusBadge } from '../components/bits.tsx';
import { WhenLoaded } from '../components/feedback.tsx';
import { useApi } from '../hooks.ts';
import { ConnectionStatus } from '../logs/connection-status.tsx';
import type { LogEntry } from '../logs/log-buffer.ts';
import { LogView, outcomeText } from '../logs/log-view.tsx';
import { useLogStream } from '../logs/use-log-stream.ts';

/** A finished build's stored log as the entries a live stream would have produced (its result shows below). */
function storedEntries(build: Build, log: BuildLogLines): LogEntry[] {
  return log.lines.map((l) => ({
    kind: 'line',
    id: l.seq,
    message: { type: 'line', source: 'build', build: build.id, seq: l.seq, at: l.at, line: l.line },
  }));
}

function Outcome(props: { build: number; ok: boolean; message: string }) {
  return (
    <p class={`log-summary ${props.ok ? 'log-summary-ok' : 'log-summary-failed'}`}>
      {outcomeText(props.build, props.ok, props.message)}
    </p>
  );
}

/** A running build: streamed live until its `end`. */
function LiveBuildLog(props: { app: string; environment: string; build: number }) {
  const stream = useLogStream(props.app, { environment: props.environment, source: 'build', build: props.build });
  // the server sends a build's `end` last, then closes the stream
  const end = stream.entries.at(-1);
  return (
    <>
      <div class="build-meta">
        <p class="build-status">
          Status: <StatusBadge status={end?.kind === 'end' ? (end.ok ? 'succeeded' : 'failed') : 'building'} />
        </p>
        <ConnectionStatus connection={stream.connection} />
      </div>
      <LogView
        // the outcome shows once, below the log (Outcome), not also as the log's last line
        entries={stream.entries.filter((e) => e.kind !== 'end')}
        label={`Build ${props.build} log`}
        follow
        bare
        empty="Waiting for the build's first line…"
      />
      {end?.kind === 'end' && <Outcome build={props.build} ok={end.ok} message={end.message} />}
    </>
  );
}

/** A finished build: its stored log, read once. */
function StoredBuildLog(props: { app: string; environment: string; build: Build }) {
  const read = useApi<BuildLogLines>(appPath(props.app, `/builds/${props.build.id}/log`, props.environment));
  return (
    <>
      <div class="build-meta">
        <p class="build-status">
          Status: <StatusBadge status={props.build.status} />
        </p>
      </div>
      <WhenLoaded read={read} what="the log">
        {(log) => (
          <>
            <LogView
              entries={storedEntries(props.build, log)}
              label={`Build ${props.build.id} log`}
              follow
              bare
              empty="No lines."
            />
            <Outcome
              build={props.build.id}
              ok={props.build.status === 'succeeded'}
              message={props.build.error ?? props.build.status}
            />
          </>
        )}
      </WhenLoaded>
    </>
  );
}

/** One build's log (`/apps/NAME/builds/N`): live while it runs, stored once it has finished. */
export function BuildLogPage(props: { app: string; environment: string; build: number }) {
  const read = useApi<Build>(appPath(props.app, `/builds/${props.build}`, props.environment));
  return (
    <section class="build-log">
      <h2>{`Build ${props.build}`}</h2>
      <WhenLoaded read={read} what={`build ${props.build}`}>
        {(build) => (
          <>
            {build.commit && <p class="build-commit">Commit {build.commit.slice(0, 12)}</p>}
            {build.status === 'building' ? (
              <LiveBuildLog app={props.app} environment={props.environment} build={build.id} />
            ) : (
              <StoredBuildLog app={props.app} environment={props.environment} build={build} />
            )}
          </>
        )}
      </WhenLoaded>
    </section>
  );
}
