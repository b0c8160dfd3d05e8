import crypto from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ResourceLimits } from '../../buildpacks/app-json.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import { confinement, type InstanceLimits } from './confinement.ts';
import type { DiskQuota } from './disk-quota.ts';
import { appJsonChecks, defaultCheck, type Probe } from './health.ts';
import type { InstanceNetwork } from './instance-network.ts';
import {
  type FoundInstance,
  type InstanceStatus,
  type OutputLine,
  type OutputOptions,
  type Rack,
  type ReleaseSpec,
  RFC3339_TIME,
  servicesOf,
} from './rack.ts';

export interface LocalRackOptions {
  installationId: string;
  healthcheckTimeoutMs: number;
  /** Isolated namespaces (the default) or the host's network; one object shared by every local rack. */
  network: InstanceNetwork;
  /** What an instance may use where app.json's formation says nothing. */
  limits: InstanceLimits;
  /** How much an instance may write to its file system (nothing is bounded where the engine cannot). */
  diskQuota: DiskQuota;
  /** Seconds Docker waits after SIGTERM before SIGKILL when an instance is stopped. */
  stopGraceSeconds?: number;
}

const LABEL = 'widemesh';
const CRASH_LOOP_RESTARTS = 3;

/** A rack on the local Docker engine: a container per instance, networked as `options.network` says. */
export class LocalRack implements Rack {
  readonly reconcilable = true;

  constructor(
    readonly name: string,
    private readonly docker: Docker,
    private readonly options: LocalRackOptions,
  ) {}

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    const started: Instance[] = [];
    try {
      for (const { service, command } of servicesOf(spec.processes)) {
        const count = spec.formation[service] ?? 0;
        for (let n = 1; n <= count; n++) started.push(await this.launch(spec, service, command, n));
      }
      await Promise.all(started.map((instance) => this.waitHealthy(instance, spec, log)));
      return started;
    } catch (err) {
      await this.stop(started);
      throw err;
    }
  }

  /** Creates and starts one container of a service; web gets a loopback port of its own in PORT. */
  private async launch(spec: ReleaseSpec, service: string, command: string | undefined, n: number): Promise<Instance> {
    const { installationId, network } = this.options;
    const suffix = crypto.randomBytes(3).toString('hex');
    const storageOpt = await this.options.diskQuota.storageOpt(spec.image);
    const name = `wm-${installationId}-${spec.app}-${spec.environment}-v${spec.version}-${service}-${this.name}-${suffix}`;
    const { networkMode, port, address } = await network.attach(name, service, this.labels(spec, service));
    const env = instanceEnv(spec.config, `${service}.${n}`, port);
    const labels = { ...this.labels(spec, service), ...addressLabels(address) };
    const container = await this.docker
      .createContainer({
        name,
        Image: spec.image,
        ...(command ? { Cmd: ['/bin/sh', '-c', command] } : {}),
        Env: env,
        Labels: labels,
        HostConfig: {
          ...this.hostConfig(networkMode, { ...this.options.limits, ...defined(spec.resources[service]) }),
          StorageOpt: storageOpt,
        },
      })
      .catch(async (err: unknown) => {
        await network.detach({ id: '', service, ...address });
        throw err;
      });
    const instance: Instance = { id: container.id, service, ...address };
    try {
      await container.start();
    } catch (err) {
      await this.stop([instance]);
      throw err;
    }
    return instance;
  }

  private hostConfig(networkMode: string, limits: InstanceLimits): Docker.HostConfig {
    return {
      ...confinement(limits),
      NetworkMode: networkMode,
      // node as PID 1 ignores SIGTERM; an init makes stops take milliseconds instead of the full timeout
      Init: true,
      // Docker restarts a crashed instance with a growing delay (never a tight loop)
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    };
  }

  private labels(spec: ReleaseSpec, service: string): Record<string, string> {
    return {
      [`${LABEL}.installation`]: this.options.installationId,
      [`${LABEL}.rack`]: this.name,
      [`${LABEL}.app`]: spec.app,
      [`${LABEL}.environment`]: spec.environment,
      [`${LABEL}.release`]: String(spec.version),
      [`${LABEL}.service`]: service,
    };
  }

  private async waitHealthy(instance: Instance, spec: ReleaseSpec, log: BuildLog): Promise<void> {
    const container = this.docker.getContainer(instance.id);
    const probe: Probe = {
      target: instance.socket ? { socketPath: instance.socket } : instance.port ? { port: instance.port } : undefined,
      assertRunning: async () => {
        const { State, RestartCount } = await container.inspect();
        if (State.Running && !State.Restarting && !RestartCount) return;
        await this.showRecentOutput(container, instance.service, log);
        const message = `the ${instance.service} process exited (code ${State.ExitCode}) before it was up in rack ${this.name}`;
        throw new WidemeshError('INSTANCE_CRASHED', message);
      },
      uptimeSeconds: async () => {
        const { State } = await container.inspect();
        return (Date.now() - Date.parse(State.StartedAt)) / 1000;
      },
      listening: () => this.options.network.listening(instance),
    };
    const checks = spec.healthchecks[instance.service];
    try {
      // a path is asked of a web process only once it listens (Heroku's boot rule comes first)
      const listensFirst = !checks?.length || (probe.target !== undefined && checks.some((c) => c.path));
      if (listensFirst) await defaultCheck(probe, instance.service, this.options.healthcheckTimeoutMs);
      if (checks?.length) await appJsonChecks(probe, instance.service, checks);
    } catch (err) {
      if (err instanceof WidemeshError && err.code !== 'INSTANCE_CRASHED') {
        await this.showRecentOutput(container, instance.service, log);
        throw new WidemeshError(err.code, `${err.message} (rack ${this.name})`);
      }
      throw err;
    }
  }

  /** The last lines the process printed are usually the reason it failed. */
  private async showRecentOutput(container: Docker.Container, service: string, log: BuildLog): Promise<void> {
    try {
      const text = (await this.lastLines(container, 20)).join('\n');
      if (text) log.info(`last output of the ${service} process:\n${text}`);
    } catch (err) {
      log.info(`(could not read the ${service} process output: ${errorMessage(err)})`);
    }
  }

  private async lastLines(container: Docker.Container, tail: number): Promise<string[]> {
    const raw = (await container.logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const demuxed = new PassThrough();
    demuxed.end(raw);
    this.docker.modem.demuxStream(demuxed, out, out);
    await new Promise((r) => demuxed.on('end', r));
    const text = Buffer.concat(chunks).toString('utf8').trimEnd();
    return text ? text.split('\n') : [];
  }

  async status(instances: Instance[]): Promise<InstanceStatus[]> {
    return await Promise.all(instances.map((instance) => this.statusOf(instance)));
  }

  private async statusOf(instance: Instance): Promise<InstanceStatus> {
    const base = { id: instance.id, service: instance.service };
    const container = this.docker.getContainer(instance.id);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch {
      return { ...base, state: 'unknown', restarts: 0, exitCode: null, startedAt: null };
    }
    const { State: state, RestartCount: restarts } = info;
    const found = { ...base, restarts, startedAt: state.Running ? state.StartedAt : null };
    const now = instanceState(state, restarts);
    if (now === 'up') return { ...found, state: now, exitCode: null };
    const lastLines = await this.lastLines(container, 10).catch(() => []);
    return { ...found, state: now, exitCode: state.ExitCode, lastLines };
  }

  async restart(instances: Instance[]): Promise<void> {
    await Promise.all(
      instances.map((i) => this.docker.getContainer(i.id).restart({ t: this.options.stopGraceSeconds ?? 10 })),
    );
  }

  async stop(instances: Instance[]): Promise<void> {
    await Promise.all(
      instances.map(async (instance) => {
        const container = this.docker.getContainer(instance.id);
        try {
          await container.stop({ t: this.options.stopGraceSeconds ?? 10 });
        } catch {
          /* already stopped or gone */
        }
        try {
          await container.remove({ force: true });
        } catch {
          /* already gone */
        }
        await this.options.network.detach(instance);
      }),
    );
  }

  /** A local rack keeps nothing but the instances themselves. */
  async remove(instances: Instance[]): Promise<void> {
    await this.stop(instances);
  }

  /** The previous release's containers still run (they were never stopped): dropping the new ones is enough. */
  async revert(started: Instance[]): Promise<void> {
    await this.stop(started);
  }

  /** This rack's instances, and relays whose instance is gone (so that reconcile removes them). */
  async list(): Promise<FoundInstance[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL}.installation=${this.options.installationId}`, `${LABEL}.rack=${this.name}`] },
    });
    const isRelay = (c: Docker.ContainerInfo) => c.Labels[`${LABEL}.role`] === 'relay';
    const instances = containers.filter((c) => !isRelay(c)).map((c) => this.found(c));
    const sandboxes = new Set(instances.map((i) => i.sandbox));
    const strayRelays = containers.filter((c) => isRelay(c) && !sandboxes.has(c.Id));
    return [
      ...instances,
      ...strayRelays.map((c) => ({ id: c.Id, service: 'relay', host: '', port: 0, running: false })),
    ];
  }

  private found(c: Docker.ContainerInfo): FoundInstance {
    const running = c.State === 'running' || c.State === 'restarting';
    // a crashed instance Docker is about to start again (restart policy) counts as running
    const instance: FoundInstance = { id: c.Id, ...addressOf(c.Labels), running };
    this.options.network.adopt(instance);
    return instance;
  }

  async output(
    instance: Instance,
    options: OutputOptions,
    onLine: (line: OutputLine) => void,
    onEnd: () => void,
  ): Promise<() => void> {
    const container = this.docker.getContainer(instance.id);
    // Docker takes `since` as "SECONDS.NANOSECONDS" and then ignores `tail` unless it is "all"
    const window = options.since ? { since: dockerTime(options.since), tail: 'all' } : { tail: options.tail };
    const raw = (await container.logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      follow: options.follow as true,
      ...(window as { tail: number }),
    })) as unknown as NodeJS.ReadableStream | Buffer;
    const source = Buffer.isBuffer(raw) ? PassThrough.from([raw]) : raw;
    const splitter = (stream: OutputLine['stream']) => {
      const out = new PassThrough();
      let pending = '';
      out.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const space = l.indexOf(' ');
          onLine({ at: l.slice(0, space), stream, line: l.slice(space + 1) });
        }
      });
      return out;
    };
    this.docker.modem.demuxStream(source, splitter('stdout'), splitter('stderr'));
    source.on('end', onEnd);
    source.on('error', onEnd);
    return () => (source as unknown as { destroy?: () => void }).destroy?.();
  }

  async revive(instance: Instance): Promise<boolean> {
    try {
      await this.options.network.revive(instance);
      await this.docker.getContainer(instance.id).start();
      return true;
    } catch {
      return false;
    }
  }
}

/** What an instance's process gets: its config vars, DYNO (`web.1`) and, for web, the PORT it listens on. */
export function instanceEnv(config: Record<string, string>, dyno: string, port: number | undefined): string[] {
  const env = [...Object.entries(config).map(([k, v]) => `${k}=${v}`), `DYNO=${dyno}`];
  return port ? [...env, `PORT=${port}`] : env;
}

/** Docker restarts a crashed process with a growing delay: restarting, or a few restarts, mean it keeps crashing. */
export function instanceState(
  state: Pick<Docker.ContainerInspectInfo['State'], 'Running' | 'Restarting'>,
  restarts: number,
): 'up' | 'crashed' | 'stopped' {
  if (state.Restarting || restarts >= CRASH_LOOP_RESTARTS) return 'crashed';
  return state.Running ? 'up' : 'stopped';
}

/** What a restarted server needs to reach an instance again, kept on its container. */
export function addressLabels(address: Pick<Instance, 'port' | 'socket' | 'sandbox'>): Record<string, string> {
  return {
    [`${LABEL}.port`]: String(address.port),
    ...(address.socket ? { [`${LABEL}.socket`]: address.socket } : {}),
    ...(address.sandbox ? { [`${LABEL}.sandbox`]: address.sandbox } : {}),
  };
}

/** An instance as its container's labels describe it (see addressLabels). */
export function addressOf(labels: Record<string, string>): Omit<Instance, 'id'> {
  return {
    service: labels[`${LABEL}.service`] ?? 'web',
    host: '127.0.0.1',
    port: Number(labels[`${LABEL}.port`] ?? 0),
    ...(labels[`${LABEL}.socket`] ? { socket: labels[`${LABEL}.socket`] } : {}),
    ...(labels[`${LABEL}.sandbox`] ? { sandbox: labels[`${LABEL}.sandbox`] } : {}),
  };
}

/** app.json's limits without the ones it leaves out (which keep the rack's defaults). */
function defined(limits: ResourceLimits | undefined): Partial<InstanceLimits> {
  return Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined));
}

/** An RFC 3339 time (Docker's own log timestamps carry nanoseconds) as Docker's "SECONDS.NANOSECONDS". */
export function dockerTime(iso: string): string {
  const match = RFC3339_TIME.exec(iso);
  if (!match) throw new WidemeshError('INVALID_TIME', `"${iso.slice(0, 40)}" is not an RFC 3339 time`);
  const seconds = Date.parse(`${match[1]}${match[3]}`) / 1000;
  return `${seconds}.${(match[2] ?? '').padEnd(9, '0')}`;
}
