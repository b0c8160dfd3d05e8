import type { AppInfo, EnvironmentView } from '../../../contract/api.ts';
import { appPath } from '../api.ts';
import { WhenLoaded } from '../components/feedback.tsx';
import { useApi } from '../hooks.ts';
import { navigate } from '../router.ts';
import { appUrl, productionFirst, TABS, type Tab } from '../routes.ts';
import { BuildLogPage } from './build-log.tsx';
import { BuildsTab } from './builds-tab.tsx';
import { ConfigTab } from './config-tab.tsx';
import { DomainsTab } from './domains-tab.tsx';
import { LogsTab } from './logs-tab.tsx';
import { OverviewTab } from './overview-tab.tsx';
import { ReleasesTab } from './releases-tab.tsx';
import { TimelineTab } from './timeline-tab.tsx';

const POLL_MS = 5000;
export const TAB_LABELS: Record<Tab, string> = {
  overview: 'Overview',
  config: 'Config',
  releases: 'Releases',
  builds: 'Builds',
  domains: 'Domains',
  logs: 'Logs',
  timeline: 'Timeline',
};

interface AppPageProps {
  app: string;
  environment: string;
  tab: Tab;
  /** The build log page is part of the Builds section. */
  build?: number;
}

/** One app: its name, the environment selector, the section tabs and the section itself. */
export function AppPage({ app, environment, tab, build }: AppPageProps) {
  const info = useApi<AppInfo>(appPath(app, ''), tab === 'overview' ? POLL_MS : 0);
  return (
    <section>
      <div class="page-head">
        <h1>{app}</h1>
        {info.data && <EnvironmentSelect app={info.data} environment={environment} tab={tab} />}
      </div>
      <TabNav app={app} environment={environment} current={tab} />
      {/* keyed: another app, environment or section starts afresh (no value left revealed, no old outcome) */}
      <WhenLoaded read={info} what={app}>
        {(data) => (
          <TabPanel
            key={`${app}/${environment}/${tab}/${build ?? ''}`}
            info={data}
            reloadInfo={info.reload}
            environment={environment}
            tab={tab}
            build={build}
          />
        )}
      </WhenLoaded>
    </section>
  );
}

function EnvironmentSelect({ app, environment, tab }: { app: AppInfo; environment: string; tab: Tab }) {
  const names = productionFirst(app.environments).map((e) => e.name);
  if (!names.includes(environment)) names.push(environment);
  return (
    <div class="field-inline">
      <label for="environment">Environment</label>
      <select
        id="environment"
        value={environment}
        onChange={(e) => navigate(appUrl(app.name, tab, e.currentTarget.value))}
      >
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

function TabNav({ app, environment, current }: { app: string; environment: string; current: Tab }) {
  return (
    <nav aria-label="App sections" class="tabs">
      <ul>
        {TABS.map((tab) => (
          <li key={tab}>
            <a href={appUrl(app, tab, environment)} aria-current={tab === current ? 'page' : undefined}>
              {TAB_LABELS[tab]}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

interface TabPanelProps {
  info: AppInfo;
  reloadInfo: () => Promise<void>;
  environment: string;
  tab: Tab;
  build?: number;
}

function TabPanel({ info, reloadInfo, environment, tab, build }: TabPanelProps) {
  const app = info.name;
  const env: EnvironmentView | undefined = info.environments.find((e) => e.name === environment);
  if (build !== undefined) return <BuildLogPage app={app} environment={environment} build={build} />;
  switch (tab) {
    case 'overview':
      return <OverviewTab info={info} reloadInfo={reloadInfo} />;
    case 'config':
      return <ConfigTab app={app} environment={environment} />;
    case 'releases':
      return <ReleasesTab app={app} environment={environment} env={env} reloadInfo={reloadInfo} />;
    case 'builds':
      return <BuildsTab app={app} environment={environment} />;
    case 'domains':
      return <DomainsTab app={app} environment={environment} />;
    case 'logs':
      return <LogsTab app={app} environment={environment} />;
    case 'timeline':
      return <TimelineTab app={app} environment={environment} />;
  }
}
