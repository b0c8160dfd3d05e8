import { useEffect, useState } from 'preact/hooks';
import type { Build } from '../../../cli/api-types.ts';
import { ApiError, appPath, get } from '../api.ts';
import { StatusBadge } from '../components/bits.tsx';
import { ConnectionStatus } from '../logs/connection-status.tsx';
import type { LogEntry } from '../logs/log-buffer.ts';
import { LogView, outcomeText } from '../logs/log-view.tsx';
import { useLogStream } from '../logs/use-log-stream.ts';

interface StoredLog {
  status: Build['status'];
  lines: { seq: number; at: string; line: string }[];
}

/** A finished build's stored log as the entries a live stream would have produced, its result last. */
export function storedEntries(build: Build, log: StoredLog): LogEntry[] {
  const entries: LogEntry[] = log.lines.map((l) => ({
    kind: 'line',
    id: l.seq,
    message: { type: 'line', source: 'build', build: build.id, seq: l.seq, at: l.at, line: l.line },
  }));
  const ok = log.status === 'succeeded';
  entries.push({ kind: 'end', id: -1, build: build.id, ok, message: build.error ?? log.status });
  return entries;
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
        entries={stream.entries}
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
  const [entries, setEntries] = useState<LogEntry[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    get<StoredLog>(appPath(props.app, `/builds/${props.build.id}/log`, props.environment))
      .then((log) => setEntries(storedEntries(props.build, log)))
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
  }, [props.app, props.environment, props.build]);
  if (error) return <p role="alert">{error}</p>;
  const ok = props.build.status === 'succeeded';
  return (
    <>
      <div class="build-meta">
        <p class="build-status">
          Status: <StatusBadge status={props.build.status} />
        </p>
      </div>
      <LogView entries={entries ?? []} label={`Build ${props.build.id} log`} follow bare empty="Loading the log…" />
      {entries && <Outcome build={props.build.id} ok={ok} message={props.build.error ?? props.build.status} />}
    </>
  );
}

/** One build's log (`/apps/NAME/builds/N`): live while it runs, stored once it has finished. */
export function BuildLogPage(props: { app: string; environment: string; build: number }) {
  const [build, setBuild] = useState<Build>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setBuild(undefined);
    setError(undefined);
    get<Build>(appPath(props.app, `/builds/${props.build}`, props.environment))
      .then(setBuild)
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
  }, [props.app, props.environment, props.build]);
  return (
    <section class="build-log">
      <h2>{`Build ${props.build}`}</h2>
      {build?.commit && <p class="build-commit">Commit {build.commit.slice(0, 12)}</p>}
      {error && <p role="alert">{error}</p>}
      {!build && !error && <p>Loading…</p>}
      {build?.status === 'building' && (
        <LiveBuildLog app={props.app} environment={props.environment} build={build.id} />
      )}
      {build && build.status !== 'building' && (
        <StoredBuildLog app={props.app} environment={props.environment} build={build} />
      )}
    </section>
  );
}
