import crypto from 'node:crypto';
import Docker from 'dockerode';
import type { SwarmProvider } from '../config.ts';
import { platformNames } from '../endpoints.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import { pollUntil, pushImage } from './cloud-common.ts';
import type { InstanceLimits } from './confinement.ts';
import type { FoundInstance, InstanceStatus, OutputLine, Rack, ReleaseSpec } from './rack.ts';
import { servicesOf } from './rack.ts';
import { REGION_EDGE_SERVICE, type RegionSite, regionEdgeSpec, renderRegionEdge } from './swarm-edge.ts';
import { environmentLabels, LABEL, networkName, serviceName, serviceSpec } from './swarm-spec.ts';

export interface SwarmRackOptions {
  installationId: string;
  healthcheckTimeoutMs: number;
  limits: InstanceLimits;
  /** the platform domain: the region's edge routes APP.DOMAIN and APP-ENV.DOMAIN */
  domain: string;
  /** the local image the region's edge runs (nginx), pushed to the cluster's registry */
  edgeImage: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const POLL_MS = 1000;

/** How dockerode reaches a manager: its unix socket, TCP with TLS, or SSH. */
export function clusterConnection(p: Pick<SwarmProvider, 'docker' | 'tls' | 'sshKey'>): Docker.DockerOptions {
  const url = new URL(p.docker);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  const port = Number(url.port) || (url.protocol === 'ssh:' ? 22 : p.tls ? 2376 : 2375);
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port,
      username: decodeURIComponent(url.username) || 'root',
      ...(p.sshKey ? { sshOptions: { privateKey: p.sshKey } } : {}),
    };
  }
  return { protocol: p.tls ? 'https' : 'http', host: url.hostname, port, ...(p.tls ?? {}) };
}

/** `HOST:PORT` or `unix:/PATH`: how the control host's edge reaches one node of the region's edge. */
function edgeInstance(id: string, address: string): Instance {
  if (address.startsWith('unix:')) return { id, service: 'web', host: 'localhost', port: 0, socket: address.slice(5) };
  const colon = address.lastIndexOf(':');
  return {
    id,
    service: 'web',
    host: address.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(address.slice(colon + 1)),
  };
}

/** Instances of a swarm rack are the region's edge; their ids carry the environment they serve. */
const instanceId = (spec: Pick<ReleaseSpec, 'app' | 'environment'>, n: number) =>
  `${spec.app}/${spec.environment}#${n}`;
function environmentOf(instances: Instance[]): { app: string; environment: string } | undefined {
  const match = /^([^/]+)\/([^#]+)#/.exec(instances[0]?.id ?? '');
  return match ? { app: match[1]!, environment: match[2]! } : undefined;
}

interface Task {
  ID: string;
  ServiceID: string;
  Slot?: number;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string; Err?: string; Timestamp?: string };
  Spec: { ContainerSpec: { Labels?: Record<string, string> } };
}

/**
 * A Docker Swarm cluster as a rack: each process type of a release is a Swarm service on the
 * environment's own overlay network, updated in place start-first (Swarm rolls back a failed
 * update by itself); Swarm places and replaces the tasks. Traffic enters through the region's
 * edge, a global nginx service on every node.
 */
export class SwarmRack implements Rack {
  readonly reconcilable = false;
  private readonly cluster: Docker;
  private edgeImagePushed?: Promise<string>;

  constructor(
    readonly name: string,
    private readonly provider: SwarmProvider,
    private readonly docker: Docker,
    private readonly options: SwarmRackOptions,
  ) {
    this.cluster = new Docker(clusterConnection(provider));
  }

  private get timeoutMs(): number {
    return (this.provider.deployTimeoutSeconds ?? 0) * 1000 || DEFAULT_TIMEOUT_MS;
  }

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    const deadline = Date.now() + this.timeoutMs;
    const image = await this.publish(spec.image, `${spec.app}:${spec.environment}-v${spec.version}`, log);
    const network = await this.ensureNetwork(spec);
    const created: string[] = [];
    try {
      const since = Date.now() - 1000;
      for (const { service, command } of servicesOf(spec.processes)) {
        const input = { spec, service, command, image, network, ...this.serviceDefaults() };
        if (await this.apply(serviceSpec(input), log)) created.push(serviceName(spec, service));
      }
      await this.removeServices(spec, new Set(servicesOf(spec.processes).map((s) => serviceName(spec, s.service))));
      await this.waitForRelease(spec, since, deadline);
      const serves = (spec.formation.web ?? 0) > 0 && servicesOf(spec.processes).some((s) => s.service === 'web');
      if (serves) await this.ensureEdge(deadline, log);
      return serves ? this.provider.edge.map((address, n) => edgeInstance(instanceId(spec, n), address)) : [];
    } catch (err) {
      for (const name of created) await this.removeService(name).catch(() => {});
      const message = err instanceof WidemeshError ? err.message : errorMessage(err);
      throw new WidemeshError('SWARM_DEPLOY_FAILED', `${this.name}: ${message}`);
    }
  }

  private serviceDefaults() {
    const { installationId, limits, healthcheckTimeoutMs } = this.options;
    return { installationId, limits, startPeriodMs: healthcheckTimeoutMs };
  }

  /** Pushes a local image to the cluster's registry; the nodes pull it by digest. */
  private async publish(localImage: string, nameTag: string, log: BuildLog): Promise<string> {
    const { registry, pullRegistry, registryAuth } = this.provider;
    const pushed = await pushImage(this.docker, localImage, `${registry}/${nameTag}`, registryAuth, log);
    return pullRegistry ? `${pullRegistry}${pushed.slice(registry.length)}` : pushed;
  }

  /** One overlay network per environment: its tasks reach each other, and nothing else but the edge. */
  private async ensureNetwork(spec: ReleaseSpec): Promise<string> {
    const name = networkName(this.options.installationId, spec);
    const existing = (await this.cluster.listNetworks({ filters: { name: [name] } })) as { Name: string }[];
    if (existing.some((n) => n.Name === name)) return name;
    await this.cluster.createNetwork({
      Name: name,
      Driver: 'overlay',
      Attachable: false,
      Labels: environmentLabels(this.options.installationId, spec),
      ...(this.provider.encryptedNetworks ? { Options: { encrypted: '' } } : {}),
    });
    return name;
  }

  private async findService(name: string): Promise<Docker.Service | undefined> {
    const found = (await this.cluster.listServices({ filters: { name: [name] } })) as {
      ID: string;
      Spec: { Name: string };
    }[];
    const service = found.find((s) => s.Spec.Name === name);
    return service && this.cluster.getService(service.ID);
  }

  /** Creates the service or updates it in place; true when it was created. */
  private async apply(spec: { Name: string }, _log: BuildLog): Promise<boolean> {
    const auth = this.provider.registryAuth;
    const existing = await this.findService(spec.Name);
    if (!existing) {
      await this.cluster.createService(auth ?? {}, spec as Docker.CreateServiceOptions);
      return true;
    }
    const { Version } = (await existing.inspect()) as { Version: { Index: number } };
    await existing.update(auth ?? {}, { _query: { version: Version.Index }, _body: spec } as never);
    return false;
  }

  private async removeService(name: string): Promise<void> {
    await (await this.findService(name))?.remove();
  }

  /** Services of the environment that the release does not run (a process type gone from the Procfile). */
  private async removeServices(env: Pick<ReleaseSpec, 'app' | 'environment'>, keep: Set<string>): Promise<void> {
    for (const service of await this.environmentServices(env)) {
      if (!keep.has(service.Spec.Name)) await this.cluster.getService(service.ID).remove();
    }
  }

  private async environmentServices(env: Pick<ReleaseSpec, 'app' | 'environment'>) {
    const labels = Object.entries(environmentLabels(this.options.installationId, env)).map(([k, v]) => `${k}=${v}`);
    return (await this.cluster.listServices({ filters: { label: labels } })) as {
      ID: string;
      Spec: { Name: string; Labels: Record<string, string>; Mode: { Replicated?: { Replicas: number } } };
    }[];
  }

  /**
   * Every service runs its replicas of this release and nothing older: a task of the release that
   * failed (crashed, unhealthy, image not pulled) fails the start at once, with Swarm's reason.
   */
  private async waitForRelease(spec: ReleaseSpec, since: number, deadline: number): Promise<void> {
    const release = String(spec.version);
    await pollUntil(
      deadline,
      POLL_MS,
      async () => {
        const services = await this.environmentServices(spec);
        const tasks = await this.tasksOf(services.map((s) => s.ID));
        const failed = tasks.find(
          (t) =>
            releaseOf(t) === release &&
            ['failed', 'rejected'].includes(t.Status.State) &&
            Date.parse(t.CreatedAt) >= since,
        );
        if (failed)
          throw new WidemeshError(
            'SWARM_TASK_FAILED',
            `a task of v${release} failed: ${failed.Status.Err ?? failed.Status.State}`,
          );
        const live = tasks.filter((t) => t.DesiredState === 'running');
        const settled = services.every((s) => {
          const own = live.filter((t) => t.ServiceID === s.ID);
          const wanted = s.Spec.Mode.Replicated?.Replicas ?? 0;
          const ready = own.filter((t) => releaseOf(t) === release && t.Status.State === 'running');
          return ready.length >= wanted && own.every((t) => releaseOf(t) === release);
        });
        return settled ? true : undefined;
      },
      () => new WidemeshError('SWARM_TIMEOUT', `v${release} did not run every replica in time`),
    );
  }

  private async tasksOf(serviceIds: string[]): Promise<Task[]> {
    if (serviceIds.length === 0) return [];
    return (await this.cluster.listTasks({ filters: { service: serviceIds } })) as Task[];
  }

  /** The region's edge routes every environment this rack serves; it changes only when that set changes. */
  private async ensureEdge(deadline: number, log: BuildLog): Promise<void> {
    const { installationId, domain } = this.options;
    const web = (await this.cluster.listServices({
      filters: { label: [`${LABEL}.installation=${installationId}`, `${LABEL}.service=web`] },
    })) as { Spec: { Name: string; Labels: Record<string, string> } }[];
    const sites: RegionSite[] = web.map(({ Spec }) => ({
      service: Spec.Name,
      hostNames: platformNames(
        { appName: Spec.Labels[`${LABEL}.app`]!, name: Spec.Labels[`${LABEL}.environment`]! },
        domain,
      ),
    }));
    const networks = (await this.cluster.listNetworks({
      filters: { label: [`${LABEL}.installation=${installationId}`] },
    })) as { Name: string }[];
    const port = this.provider.edgePort ?? 80;
    const spec = regionEdgeSpec({
      image: await this.edgeImage(log),
      config: renderRegionEdge(sites, port),
      networks: networks.map((n) => n.Name),
      port,
      installationId,
    });
    const fingerprint = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
    const current = await this.findService(REGION_EDGE_SERVICE);
    const labels = current && ((await current.inspect()) as { Spec: { Labels: Record<string, string> } }).Spec.Labels;
    if (labels?.[`${LABEL}.edge`] === fingerprint) return;
    log.info(`${this.name}: the region's edge now routes ${sites.length} environment(s)`);
    spec.Labels[`${LABEL}.edge`] = fingerprint;
    spec.TaskTemplate.ContainerSpec.Labels[`${LABEL}.edge`] = fingerprint;
    await this.apply(spec, log);
    await this.waitForEdge(fingerprint, deadline);
  }

  private edgeImage(log: BuildLog): Promise<string> {
    const tag = this.options.edgeImage.split(':')[1] ?? 'latest';
    this.edgeImagePushed ??= this.publish(this.options.edgeImage, `widemesh-edge:${tag}`, log).catch((err) => {
      this.edgeImagePushed = undefined;
      throw err;
    });
    return this.edgeImagePushed;
  }

  /** Every ready node runs the edge with this routing. */
  private async waitForEdge(fingerprint: string, deadline: number): Promise<void> {
    await pollUntil(
      deadline,
      POLL_MS,
      async () => {
        const nodes = (await this.cluster.listNodes()) as {
          Status: { State: string };
          Spec: { Availability: string };
        }[];
        const ready = nodes.filter((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active').length;
        const edge = await this.findService(REGION_EDGE_SERVICE);
        const tasks = edge ? await this.tasksOf([edge.id as string]) : [];
        const serving = tasks.filter(
          (t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Labels?.[`${LABEL}.edge`] === fingerprint,
        );
        return serving.length >= ready ? true : undefined;
      },
      () => new WidemeshError('SWARM_TIMEOUT', "the region's edge did not start on every node in time"),
    );
  }

  async revert(started: Instance[], previous: ReleaseSpec | undefined, log: BuildLog): Promise<void> {
    if (previous) {
      await this.start(previous, log);
      return;
    }
    const env = environmentOf(started);
    if (env) await this.removeServices(env, new Set());
  }

  /** The services are updated in place: old tasks are retired by Swarm's rolling update. */
  async stop(): Promise<void> {}

  /** A deleted environment's services go with it (its overlay network stays for the next environment of that name). */
  async remove(instances: Instance[]): Promise<void> {
    const env = environmentOf(instances);
    if (env) await this.removeServices(env, new Set());
  }

  async list(): Promise<FoundInstance[]> {
    return [];
  }

  async revive(): Promise<boolean> {
    return true;
  }

  /** Every task Swarm wants running for the environment, with its state. */
  async status(instances: Instance[]): Promise<InstanceStatus[]> {
    const env = environmentOf(instances);
    if (!env) return [];
    const services = await this.environmentServices(env);
    const serviceOf = new Map(services.map((s) => [s.ID, s.Spec.Labels[`${LABEL}.service`] ?? 'web']));
    const tasks = await this.tasksOf(services.map((s) => s.ID));
    return tasks
      .filter((t) => t.DesiredState === 'running')
      .map((t) => ({
        id: t.ID,
        service: serviceOf.get(t.ServiceID) ?? 'web',
        state: t.Status.State === 'running' ? 'up' : t.Status.State === 'failed' ? 'crashed' : 'unknown',
        restarts: tasks.filter((o) => o.ServiceID === t.ServiceID && o.Slot === t.Slot && o.Status.State === 'failed')
          .length,
        exitCode: null,
        startedAt: t.Status.State === 'running' ? (t.Status.Timestamp ?? null) : null,
      }));
  }

  /** Replaces every task of the environment's services, start-first, one at a time. */
  async restart(instances: Instance[]): Promise<void> {
    const env = environmentOf(instances);
    if (!env) return;
    for (const { ID } of await this.environmentServices(env)) {
      const service = this.cluster.getService(ID);
      const { Version, Spec } = (await service.inspect()) as {
        Version: { Index: number };
        Spec: { TaskTemplate: { ForceUpdate?: number } };
      };
      Spec.TaskTemplate.ForceUpdate = (Spec.TaskTemplate.ForceUpdate ?? 0) + 1;
      await service.update({ _query: { version: Version.Index }, _body: Spec } as never);
    }
  }

  /** Service logs are not wired yet: no app output from swarm racks. */
  async output(_i: Instance, _o: unknown, _l: (line: OutputLine) => void, onEnd: () => void): Promise<() => void> {
    onEnd();
    return () => {};
  }
}

const releaseOf = (task: Task) => task.Spec.ContainerSpec.Labels?.[`${LABEL}.release`];
