import type { BuildLog } from '../logs/index.ts';
import type { Environment, Instance, Release } from '../store/index.ts';

/** What a rack needs to run one release of one environment. */
export interface ReleaseSpec {
  app: string;
  environment: string;
  version: number;
  image: string;
  /** Procfile commands; no `web` means the image's own CMD. */
  processes: Record<string, string>;
  config: Record<string, string>;
}

/** The one way a release becomes what a rack runs (deploys, undo, reconcile). */
export function releaseSpec(
  env: Pick<Environment, 'appName' | 'name'>,
  release: Pick<Release, 'version' | 'image' | 'processes' | 'config'>,
): ReleaseSpec {
  const { version, image, processes, config } = release;
  return { app: env.appName, environment: env.name, version, image, processes, config };
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
  /** Starts the release's web instance and resolves once it answers HTTP; cleans up after itself on failure. */
  start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]>;
  /** Stops instances that no longer receive traffic. */
  stop(instances: Instance[]): Promise<void>;
  /** Undoes a start whose rollout failed elsewhere: back to `previous`, or nothing when there was none. */
  revert(started: Instance[], previous: ReleaseSpec | undefined, log: BuildLog): Promise<void>;
  /** Every instance this rack holds for this installation, running or not. */
  list(): Promise<FoundInstance[]>;
  /** Starts again an instance that exists but stopped (crash, engine restart). */
  revive(instance: Instance): Promise<boolean>;
  /** The instance's output, the last `tail` lines then (if `follow`) live ones; returns a stop function. */
  output(
    instance: Instance,
    options: { tail: number; follow: boolean },
    onLine: (line: OutputLine) => void,
    onEnd: () => void,
  ): Promise<() => void>;
}

/** Errors after which a rack may or may not have moved to the new release: it is put back like the moved ones. */
export const OUTCOME_UNKNOWN = new Set(['APP_RUNNER_TIMEOUT', 'CLOUD_RUN_TIMEOUT', 'CLOUD_RUN_UNVERIFIED']);

export interface OutputLine {
  at: string;
  stream: 'stdout' | 'stderr';
  line: string;
}
