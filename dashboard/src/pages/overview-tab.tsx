import type { AppInfo, EnvironmentView, ProcessList } from '../../../contract/api.ts';
import { appPath } from '../api.ts';
import { ExternalLink, StatusBadge, Time } from '../components/bits.tsx';
import { ActionFeedback, WhenLoaded } from '../components/feedback.tsx';
import { ServiceControls } from '../components/service-controls.tsx';
import { formatSeconds } from '../format.ts';
import { type Action, useAction, useApi } from '../hooks.ts';
import { buildUrl, productionFirst } from '../routes.ts';

const POLL_MS = 5000;
type Instance = ProcessList['instances'][number];

/** Every environment side by side: release, status, racks, services with their instances, address. */
export function OverviewTab({ info, reloadInfo }: { info: AppInfo; reloadInfo: () => Promise<void> }) {
  return (
    <div class="cards">
      {productionFirst(info.environments).map((env) => (
        <EnvironmentCard key={env.name} app={info.name} env={env} reloadInfo={reloadInfo} />
      ))}
    </div>
  );
}

interface CardProps {
  app: string;
  env: EnvironmentView;
  reloadInfo: () => Promise<void>;
}

function EnvironmentCard({ app, env, reloadInfo }: CardProps) {
  const ps = useApi<ProcessList>(appPath(app, '/ps', env.name), POLL_MS);
  const action = useAction(async () => {
    await Promise.all([ps.reload(), reloadInfo()]);
  });
  return (
    <article class="card" aria-labelledby={`env-${env.name}`}>
      <div class="card-head">
        <h2 id={`env-${env.name}`}>{env.name}</h2>
        <StatusBadge status={env.status} />
      </div>
      <EnvironmentFacts app={app} env={env} />
      <h3>Services</h3>
      <WhenLoaded read={ps} what="services">
        {(data) => <Services app={app} environment={env.name} ps={data} action={action} />}
      </WhenLoaded>
      <ActionFeedback action={action} />
    </article>
  );
}

function EnvironmentFacts({ app, env }: { app: string; env: EnvironmentView }) {
  return (
    <dl class="facts">
      <dt>Release</dt>
      <dd>{env.release === null ? 'none yet' : `v${env.release}`}</dd>
      <dt>Deployed</dt>
      <dd>
        <Time iso={env.deployedAt} />
      </dd>
      <dt>Last build</dt>
      <dd>
        <LastBuild app={app} env={env} />
      </dd>
      <dt>Branch</dt>
      <dd>{env.branch ?? <span class="muted">none</span>}</dd>
      <dt>URL</dt>
      <dd>
        <ExternalLink href={env.url} />
      </dd>
      <dt>Racks</dt>
      <dd>{env.racks.length === 0 ? <span class="muted">not placed yet</span> : <RackList env={env} />}</dd>
    </dl>
  );
}

/** The latest build whatever its outcome, linked to its log: where a failed deploy is explained. */
function LastBuild({ app, env }: { app: string; env: EnvironmentView }) {
  const build = env.lastBuild;
  if (!build) return <span class="muted">none yet</span>;
  return (
    <span class="inline-list">
      <a href={buildUrl(app, build.id, env.name)}>{`Build ${build.id}`}</a>
      <StatusBadge status={build.status} />
      <Time iso={build.createdAt} />
    </span>
  );
}

function RackList({ env }: { env: EnvironmentView }) {
  return (
    <ul class="plain">
      {env.racks.map((rack) => (
        <li key={rack.rack}>
          {`${rack.rack}: ${rack.release === undefined ? 'no release' : `v${rack.release}`}, `}
          {`${rack.instances} ${rack.instances === 1 ? 'instance' : 'instances'}`}
        </li>
      ))}
    </ul>
  );
}

interface ServicesProps {
  app: string;
  environment: string;
  ps: ProcessList;
  action: Action;
}

/** Each service with its scale and restart controls and its instances in every rack. */
function Services({ app, environment, ps, action }: ServicesProps) {
  const services = serviceNames(ps);
  if (services.length === 0) return <p class="muted">No services until the first deploy.</p>;
  return (
    <ul class="services">
      {services.map((service) => (
        <li key={service}>
          <ServiceControls
            app={app}
            environment={environment}
            service={service}
            perRack={ps.formation[service] ?? 0}
            action={action}
          />
          <InstanceList instances={ps.instances.filter((i) => i.service === service)} />
        </li>
      ))}
    </ul>
  );
}

/** web first, then the others by name; services seen running but no longer in the formation too. */
function serviceNames(ps: ProcessList): string[] {
  const names = new Set([...Object.keys(ps.formation), ...ps.instances.map((i) => i.service)]);
  return [...names].sort((a, b) => Number(b === 'web') - Number(a === 'web') || a.localeCompare(b));
}

function InstanceList({ instances }: { instances: Instance[] }) {
  if (instances.length === 0) return <p class="muted">No instances running.</p>;
  return (
    <ul class="instances">
      {instances.map((i) => (
        <li key={`${i.rack}/${i.instance}`}>
          <StatusBadge status={i.state} /> <span>{i.rack}</span> <code>{i.instance}</code>{' '}
          <span class="muted">{instanceDetail(i)}</span>
        </li>
      ))}
    </ul>
  );
}

function instanceDetail(i: Instance): string {
  const parts = [i.release === null ? '' : `v${i.release}`];
  if (i.uptimeSeconds !== null && i.state === 'up') parts.push(`up ${formatSeconds(i.uptimeSeconds)}`);
  if (i.restarts > 0) parts.push(`${i.restarts} ${i.restarts === 1 ? 'restart' : 'restarts'}`);
  if (i.exitCode !== null && i.state !== 'up') parts.push(`exit ${i.exitCode}`);
  return parts.filter(Boolean).join(' · ');
}
