import { useState } from 'preact/hooks';
import type { EnvironmentView, Promoted, Release, ReleaseOutput, RolledBack } from '../../../contract/api.ts';
import { appPath, request } from '../api.ts';
import { DataTable, StatusBadge, Time } from '../components/bits.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ActionFeedback, WhenLoaded } from '../components/feedback.tsx';
import { type Action, useAction, useApi } from '../hooks.ts';
import { PRODUCTION } from '../routes.ts';

interface ReleasesTabProps {
  app: string;
  environment: string;
  /** The environment as the app page knows it (its current release); undefined if it does not exist. */
  env: EnvironmentView | undefined;
  reloadInfo: () => Promise<void>;
}

/** Releases newest first; roll back to an earlier one (after a confirmation), or promote to production. */
export function ReleasesTab({ app, environment, env, reloadInfo }: ReleasesTabProps) {
  const releases = useApi<Release[]>(appPath(app, '/releases', environment));
  const action = useAction(async () => {
    await Promise.all([releases.reload(), reloadInfo()]);
  });
  const [confirming, setConfirming] = useState<number | null>(null);
  const [showingOutput, setShowingOutput] = useState<number | null>(null);
  const rollBack = (version: number) => {
    setConfirming(null);
    void action.run(`Rolling back to v${version}…`, async () => {
      const answer = await request<RolledBack>('POST', appPath(app, '/rollback', environment), { version });
      return `Rolled back: v${answer.release.version} is live`;
    });
  };
  return (
    <div>
      <div class="section-head">
        <h2>{`Releases of ${environment}`}</h2>
        <PromoteButton app={app} env={env} action={action} />
      </div>
      <WhenLoaded read={releases} what="releases">
        {(data) => (
          <ReleaseTable
            releases={data}
            current={env?.release ?? null}
            action={action}
            onRollBack={setConfirming}
            onShowOutput={setShowingOutput}
          />
        )}
      </WhenLoaded>
      {showingOutput !== null && (
        <ReleaseOutputPanel
          app={app}
          environment={environment}
          version={showingOutput}
          onClose={() => setShowingOutput(null)}
        />
      )}
      <ActionFeedback action={action} />
      {confirming !== null && (
        <RollbackConfirmation
          environment={environment}
          version={confirming}
          onConfirm={() => rollBack(confirming)}
          onCancel={() => setConfirming(null)}
        />
      )}
    </div>
  );
}

interface RollbackConfirmationProps {
  environment: string;
  version: number;
  onConfirm: () => void;
  onCancel: () => void;
}

function RollbackConfirmation({ environment, version, onConfirm, onCancel }: RollbackConfirmationProps) {
  return (
    <ConfirmDialog
      title={`Roll back ${environment} to v${version}?`}
      confirmLabel="Roll back"
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      <p>{`A new release is made with the code and config of v${version}, and rolled out to every rack.`}</p>
    </ConfirmDialog>
  );
}

/**
 * Only for an environment other than production that has a release to promote. Promotion
 * replaces what production serves, so it asks first, as a rollback does.
 */
function PromoteButton({ app, env, action }: { app: string; env: EnvironmentView | undefined; action: Action }) {
  const [confirming, setConfirming] = useState(false);
  if (!env || env.name === PRODUCTION || env.release === null) return null;
  const from = env.name;
  const promote = () => {
    setConfirming(false);
    void action.run(`Promoting ${from} to production…`, async () => {
      const answer = await request<Promoted>('POST', appPath(app, '/promote'), { from, to: PRODUCTION });
      return `Promoted: v${answer.release.version} is live in production`;
    });
  };
  return (
    <>
      <button type="button" disabled={action.pending} onClick={() => setConfirming(true)}>
        Promote to production
      </button>
      {confirming && (
        <ConfirmDialog
          title={`Promote ${from} v${env.release} to production?`}
          confirmLabel="Promote"
          onConfirm={promote}
          onCancel={() => setConfirming(false)}
        >
          <p>{`Production gets the image of ${from} v${env.release} with its own config, without a build; its release phase runs first.`}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

interface ReleaseTableProps {
  releases: Release[];
  current: number | null;
  action: Action;
  onRollBack: (version: number) => void;
  onShowOutput: (version: number) => void;
}

function ReleaseTable({ releases, current, action, onRollBack, onShowOutput }: ReleaseTableProps) {
  if (releases.length === 0) return <p class="muted">No releases yet: push to deploy.</p>;
  return (
    <DataTable caption="Releases" columns={['Release', 'Status', 'Description', 'Created', 'Action']}>
      {releases.map((release) => (
        <ReleaseRow
          key={release.version}
          release={release}
          current={current}
          action={action}
          onRollBack={onRollBack}
          onShowOutput={onShowOutput}
        />
      ))}
    </DataTable>
  );
}

function ReleaseRow({
  release,
  current,
  action,
  onRollBack,
  onShowOutput,
}: { release: Release } & Omit<ReleaseTableProps, 'releases'>) {
  const isCurrent = release.version === current;
  return (
    <tr>
      <th scope="row">
        {`v${release.version}`}
        {isCurrent && <span class="tag"> current</span>}
      </th>
      <td>
        <StatusBadge status={release.status} />
      </td>
      <td class="description">
        {release.description}
        {release.error && <span class="error-text">{release.error}</span>}
      </td>
      <td>
        <Time iso={release.createdAt} />
      </td>
      <td>
        {release.status === 'succeeded' && !isCurrent && (
          <button type="button" class="secondary" disabled={action.pending} onClick={() => onRollBack(release.version)}>
            {`Roll back to v${release.version}`}
          </button>
        )}
        <button type="button" class="secondary" onClick={() => onShowOutput(release.version)}>
          {`Release output of v${release.version}`}
        </button>
      </td>
    </tr>
  );
}

/** What a release's release phase printed (stored with the release), below the table. */
function ReleaseOutputPanel(props: { app: string; environment: string; version: number; onClose: () => void }) {
  const read = useApi<ReleaseOutput>(appPath(props.app, `/releases/${props.version}/output`, props.environment));
  const title = `Release phase output of v${props.version}`;
  return (
    <section class="release-output" aria-label={title}>
      <div class="section-head">
        <h3>{title}</h3>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      <WhenLoaded read={read} what="the release phase output">
        {(output) =>
          output.lines === null ? (
            <p class="muted">{`v${props.version} ran no release phase.`}</p>
          ) : (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
            <pre class="log-view" tabIndex={0}>
              {output.lines.join('\n')}
            </pre>
          )
        }
      </WhenLoaded>
    </section>
  );
}
