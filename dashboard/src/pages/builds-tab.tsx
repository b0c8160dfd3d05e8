import type { Build } from '../../../contract/api.ts';
import { appPath } from '../api.ts';
import { DataTable, StatusBadge, Time } from '../components/bits.tsx';
import { WhenLoaded } from '../components/feedback.tsx';
import { durationBetween, shortCommit } from '../format.ts';
import { useApi } from '../hooks.ts';
import { buildUrl } from '../routes.ts';

const POLL_MS = 5000;

/** Builds newest first; each links to its log. Polled, so a running build's status and duration move. */
export function BuildsTab({ app, environment }: { app: string; environment: string }) {
  const builds = useApi<Build[]>(appPath(app, '/builds', environment), POLL_MS);
  return (
    <div>
      <h2>{`Builds of ${environment}`}</h2>
      <WhenLoaded read={builds} what="builds">
        {(data) => <BuildTable app={app} environment={environment} builds={data} />}
      </WhenLoaded>
    </div>
  );
}

function BuildTable({ app, environment, builds }: { app: string; environment: string; builds: Build[] }) {
  if (builds.length === 0) return <p class="muted">No builds yet: push to build.</p>;
  return (
    <DataTable caption="Builds" columns={['Build', 'Status', 'Commit', 'Started', 'Duration']}>
      {builds.map((build) => (
        <tr key={build.id}>
          <th scope="row">
            <a href={buildUrl(app, build.id, environment)}>{`Build ${build.id}`}</a>
          </th>
          <td>
            <StatusBadge status={build.status} />
          </td>
          <td>
            <code>{shortCommit(build.commit)}</code>
          </td>
          <td>
            <Time iso={build.createdAt} />
          </td>
          <td>{durationBetween(build.createdAt, build.finishedAt)}</td>
        </tr>
      ))}
    </DataTable>
  );
}
