import type { HealthCheck, ResourceLimits } from '../../buildpacks/app-json.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Environment, Instance, Release } from '../store/index.ts';

/** What a rack needs to run one release of one environment. */
export interface ReleaseSpec {
  app: string;
  environment: string;
  version: number;
  image: string;
  /** Procfile commands by process type; none at all means one `web` service running the image's CMD. */
  processes: Record<string, string>;
  config: Record<string, string>;
  /** Instances per service, the same in every rack; a service not named here runs none. */
  formation: Record<string, number>;
  /** app.json checks per service; a service without any gets the default check. */
  healthchecks: Record<string, HealthCheck[]>;
  /** app.json's memory and CPU per service; the rack's defaults apply where it says nothing. */
  resources: Record<string, ResourceLimits>;
}

/** A service (process type) a release runs, and its command (undefined: the image's CMD). */
interface ServiceCommand {
  service: string;
  command: string | undefined;
}

/** The release phase runs once per release, never as a service. */
export const RELEASE_PROCESS = 'release';

export function servicesOf(processes: Record<string, string>): ServiceCommand[] {
  const services = Object.entries(processes)
    .filter(([type]) => type !== RELEASE_PROCESS)
    .map(([service, command]) => ({ service, command }));
  return services.length > 0 ? services : [{ service: 'web', command: undefined }];
}

/** How a service looks in `ps`. */
export interface InstanceStatus {
  id: string;
  service: string;
  state: 'up' | 'crashed' | 'stopped' | 'unknown';
  restarts: number;
  exitCode: number | null;
  startedAt: string | null;
  /** The last lines it printed, for a crashed instance. */
  lastLines?: string[];
}

/** The one way a release becomes what a rack runs (deploys, undo, reconcile). */
export function releaseSpec(
  env: Pick<Environment, 'appName' | 'name'>,
  release: Pick<Release, 'version' | 'image' | 'processes' | 'config' | 'manifest'>,
  formation: Record<string, number>,
): ReleaseSpec {
  const { version, image, processes, config } = release;
  const { healthchecks = {}, resources = {} } = release.manifest;
  return {
    app: env.appName,
    environment: env.name,
    version,
    image,
    processes,
    config,
    formation,
    healthchecks,
    resources,
  };
}

/** An instance the rack found running for this installation (after a restart of the server). */
export interface FoundInstance extends Instance {
  running: boolean;
}

/**
 * A place instances run. Starting never moves traffic: the pipeline switches the
 * environment's placement once the new instances answer, then stops the old ones.
 */
export interface Rack {
  readonly name: string;
  /** Local racks hold containers to adopt after a restart; cloud racks hold services that keep running on their own. */
  readonly reconcilable: boolean;
  /** Starts every service's instances and resolves once all pass their checks; cleans up after itself on failure. */
  start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]>;
  /** Stops instances that no longer receive traffic. */
  stop(instances: Instance[]): Promise<void>;
  /** Removes for good what a deleted environment ran here: its instances, and a cloud rack's service. */
  remove(instances: Instance[], log: BuildLog): Promise<void>;
  /** Undoes a start whose rollout failed elsewhere: back to `previous`, or nothing when there was none. */
  revert(started: Instance[], previous: ReleaseSpec | undefined, log: BuildLog): Promise<void>;
  /** Every instance this rack holds for this installation, running or not. */
  list(): Promise<FoundInstance[]>;
  /** Starts again an instance that exists but stopped (crash, engine restart). */
  revive(instance: Instance): Promise<boolean>;
  /** What each instance is doing now (for `ps`). */
  status(instances: Instance[]): Promise<InstanceStatus[]>;
  /** Restarts instances in place (for `ps:restart`). */
  restart(instances: Instance[]): Promise<void>;
  /**
   * The instance's output: the last `tail` lines (or, with `since`, every line from that ISO
   * time on), then (if `follow`) live ones; returns a stop function.
   */
  output(
    instance: Instance,
    options: OutputOptions,
    onLine: (line: OutputLine) => void,
    onEnd: () => void,
  ): Promise<() => void>;
}

/** Errors after which a rack may or may not have moved to the new release: it is put back like the moved ones. */
export const OUTCOME_UNKNOWN = new Set([
  'APP_RUNNER_TIMEOUT',
  'CLOUD_RUN_TIMEOUT',
  'CLOUD_RUN_UNVERIFIED',
  // a swarm rack may have updated some services before one failed
  'SWARM_DEPLOY_FAILED',
  'ECS_EXPRESS_TIMEOUT',
]);

export interface OutputOptions {
  tail: number;
  follow: boolean;
  /** An RFC 3339 time (see RFC3339_TIME). */
  since?: string;
}

/** An RFC 3339 time with up to nanoseconds, as Docker stamps log lines: groups are seconds, fraction, zone. */
export const RFC3339_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

export interface OutputLine {
  at: string;
  stream: 'stdout' | 'stderr';
  line: string;
}
