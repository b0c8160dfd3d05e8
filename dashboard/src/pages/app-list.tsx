import type { ComponentChildren } from 'preact';
import type { AppSummary, EnvironmentView } from '../../../contract/api.ts';
import { DataTable, ExternalLink, StatusBadge, Time } from '../components/bits.tsx';
import { WhenLoaded } from '../components/feedback.tsx';
import { useApi } from '../hooks.ts';
import { appUrl, productionFirst } from '../routes.ts';

const POLL_MS = 5000;

/** Every app with each environment's status, release, last deploy and address; refreshed every few seconds. */
export function AppListPage() {
  const apps = useApi<AppSummary[]>('/api/apps', POLL_MS);
  return (
    <section>
      <h1>Apps</h1>
      <WhenLoaded read={apps} what="apps">
        {(data) => <AppTable apps={data} />}
      </WhenLoaded>
    </section>
  );
}

function AppTable({ apps }: { apps: AppSummary[] }) {
  if (apps.length === 0)
    return (
      <p>
        No apps yet. Create one with <code>widemesh apps:create NAME</code> and <code>git push</code> to it.
      </p>
    );
  return (
    <DataTable caption="Apps" columns={['App', 'Environment', 'Status', 'Release', 'Last deploy', 'URL']}>
      {apps.map((app) => (
        <AppRows key={app.name} app={app} />
      ))}
    </DataTable>
  );
}

/** One row per environment; the app's name spans them. */
function AppRows({ app }: { app: AppSummary }) {
  const name = (
    <th scope="rowgroup" rowSpan={Math.max(1, app.environments.length)}>
      <a href={appUrl(app.name, 'overview', 'production')}>{app.name}</a>
    </th>
  );
  if (app.environments.length === 0)
    return (
      <tr class="group-start">
        {name}
        <td colSpan={5} class="muted">
          no environments
        </td>
      </tr>
    );
  return (
    <>
      {productionFirst(app.environments).map((env, i) => (
        <EnvironmentRow key={env.name} env={env} name={i === 0 ? name : null} />
      ))}
    </>
  );
}

function EnvironmentRow({ env, name }: { env: EnvironmentView; name: ComponentChildren }) {
  return (
    <tr class={name ? 'group-start' : undefined}>
      {name}
      <td>{env.name}</td>
      <td>
        <StatusBadge status={env.status} />
      </td>
      <td>{env.release === null ? <span class="muted">none</span> : `v${env.release}`}</td>
      <td>
        <Time iso={env.deployedAt} />
      </td>
      <td>
        <ExternalLink href={env.url} />
      </td>
    </tr>
  );
}
