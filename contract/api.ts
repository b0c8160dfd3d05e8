/**
 * The API contract: what the Widemesh API answers, route by route (see README "API"). The
 * server's views `satisfies` these shapes; the CLI and the dashboard read answers as them.
 * Types only, importing nothing: each side compiles it with its own settings.
 */

/** `{"error": {"code", "message"}}` on every failed request. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string };
}

/** GET /api/apps (one element) */
export interface AppSummary {
  name: string;
  createdAt: string;
  environments: EnvironmentView[];
}

export interface RackPlacement {
  rack: string;
  /** The release version running in that rack. */
  release?: number;
  instances: number;
}

export interface EnvironmentView {
  name: string;
  branch: string | null;
  /** Made for a branch or pull request, deleted with it. */
  preview?: boolean;
  url: string;
  /** The current release version, null before the first deploy. */
  release: number | null;
  /** live, deploying, failed (nothing went live), stopped (ps:stop), new (never deployed). */
  status: EnvironmentStatus;
  /** When the current release was made. */
  deployedAt: string | null;
  lastBuild: { id: number; status: BuildStatus; createdAt: string; finishedAt: string | null } | null;
  racks: RackPlacement[];
}

export type EnvironmentStatus = 'new' | 'deploying' | 'failed' | 'stopped' | 'live';
export type BuildStatus = 'building' | 'succeeded' | 'failed';

/** GET /api/apps/:app/timeline: the last releases, newest first, with their timed phases. */
export interface Timeline {
  environment: string;
  releases: {
    version: number;
    description: string;
    status: ReleaseStatus;
    createdAt: string;
    steps: DeployStep[];
  }[];
}

/** One release of the timeline. */
export type TimelineRelease = Timeline['releases'][number];

export interface DeployStep {
  phase: 'build' | 'release-phase' | 'rollout';
  /** The rack of a rollout step. */
  rack: string | null;
  startedAt: string;
  /** null while the step runs. */
  finishedAt: string | null;
  ok: boolean | null;
}

/** POST /api/session, GET /api/session: a dashboard sign-in (the cookie itself is HttpOnly). */
export interface Session {
  csrfToken: string;
  expiresAt: string;
}

/** GET /api/apps/:app, POST /api/apps (which has no createdAt) */
export interface AppInfo {
  name: string;
  createdAt?: string;
  /** Preview environments per branch or pull request (not in the POST answer). */
  previews?: boolean;
  environments: EnvironmentView[];
}

/** DELETE /api/apps/:app */
export interface AppDeleted {
  deleted: string;
}

/** DELETE /api/apps/:app/environments/:env */
export interface EnvironmentDeleted {
  deleted: string;
}

/** GET /api/apps/:app/config */
export interface ConfigVars {
  environment: string;
  vars: Record<string, string>;
}

export type ReleaseStatus = 'deploying' | 'succeeded' | 'failed';

/** GET /api/apps/:app/releases (one element) */
export interface Release {
  version: number;
  status: ReleaseStatus;
  description: string;
  image: string;
  buildId: number | null;
  configKeys: string[];
  error: string | null;
  createdAt: string;
}

/** PATCH /api/apps/:app/config: the release is null before the first deploy. */
export interface ConfigChanged extends ConfigVars {
  release: Release | null;
  log: string[];
}

/** GET /api/apps/:app/releases/:version/output: lines is null when no release phase ran for it. */
export interface ReleaseOutput {
  version: number;
  status: ReleaseStatus;
  lines: string[] | null;
}

/** POST /api/apps/:app/rollback */
export interface RolledBack {
  release: Release;
  log: string[];
}

/** GET /api/apps/:app/builds (one element) */
export interface Build {
  id: number;
  environmentId: number;
  commit: string | null;
  status: BuildStatus;
  buildpack: string | null;
  image: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** GET /api/apps/:app/builds/:id/log?since=SEQ: the build's stored lines after SEQ. */
export interface BuildLogLines {
  status: BuildStatus;
  lines: { seq: number; at: string; line: string }[];
}

export type GitHost = 'github' | 'bitbucket';

/** GET /api/apps/:app/repository */
export interface Repository {
  host: GitHost;
  cloneUrl: string;
  branches: Record<string, string>;
  private: boolean;
  webhookUrl: string;
}

/** PUT /api/apps/:app/repository: the webhook secret is shown this once. */
export interface RepositoryConnected extends Repository {
  secret: string;
}

/** DELETE /api/apps/:app/repository */
export interface RepositoryDisconnected {
  disconnected: string;
}

/** PUT /api/apps/:app/repository (request) */
export interface RepositoryRequest {
  host: string;
  cloneUrl: string;
  branches?: Record<string, string>;
  username?: string;
  password?: string;
}

/** GET /api/apps/:app/deliveries (one element) */
export interface Delivery {
  id: string;
  appId: number;
  gitHost: string;
  event: string;
  ref: string | null;
  commit: string | null;
  outcome: string;
  buildId: number | null;
  receivedAt: string;
}

/** GET /api/providers (one element): never the credentials. */
export interface Provider {
  name: string;
  type: string;
  /** How many environments' racks use it. */
  environments: number;
}

/** PUT /api/providers/:name */
export interface ProviderSaved {
  name: string;
  type: string;
}

/** One rack of PUT /api/apps/:app/racks */
export type RackSpec =
  | { kind: 'local'; name: string }
  | { kind: 'swarm'; provider: string }
  | { kind: 'cloud-run'; provider: string; location: string }
  | { kind: 'app-runner' | 'ecs-express'; provider: string; region: string };

export type Rollout = 'sequential' | 'parallel';

/** PUT /api/apps/:app/racks */
export interface RacksSet {
  environment: string;
  racks: { name: string; kind: string }[];
  rollout: Rollout;
  note: string;
}

/** GET /api/apps/:app/racks */
export interface Racks {
  environment: string;
  racks: { name: string }[];
  rollout: Rollout;
  /** false: the server's default racks. */
  custom: boolean;
  /** How much a local rack's instance may write to its file system, or why the Docker engine cannot bound it. */
  instanceDisk: string;
}

/** Messages of the GET /api/apps/:app/logs websocket. */
export type LogMessage =
  | { type: 'line'; source: 'build'; build: number; seq: number; at: string; line: string }
  | {
      type: 'line';
      source: 'app';
      at: string;
      rack: string;
      instance: string;
      service: string;
      stream: string;
      line: string;
    }
  | {
      type: 'line';
      source: 'router';
      at: string;
      method: string;
      path: string;
      status: number;
      ms: number;
      line: string;
    }
  | { type: 'end'; source: 'build'; build: number | null; ok: boolean; message: string }
  | { type: 'dropped'; count: number };

export type LogSource = 'build' | 'app' | 'router' | 'all';

/** GET /api/apps/:app/ps: every instance per rack. */
export interface ProcessList {
  environment: string;
  formation: Record<string, number>;
  instances: {
    rack: string;
    release: number | null;
    service: string;
    instance: string;
    state: 'up' | 'crashed' | 'stopped' | 'unknown';
    restarts: number;
    exitCode: number | null;
    uptimeSeconds: number | null;
    lastLines?: string[];
  }[];
}

/** POST /api/apps/:app/ps/scale */
export interface Scaled {
  environment: string;
  formation: Record<string, number>;
  log: string[];
}

/** POST /api/apps/:app/ps/restart */
export interface Restarted {
  environment: string;
  restarted: number;
}

/** POST /api/apps/:app/run answers one of these per line (NDJSON). */
export type RunMessage = { stream: 'stdout' | 'stderr'; line: string } | { exit: number } | { error: string };

/** POST /api/apps/:app/ps/stop and /ps/start: how many instances of each service now run per rack. */
export interface StoppedOrStarted {
  environment: string;
  running: Record<string, number>;
  log: string[];
}

/** PATCH /api/apps/:app {"previews"} */
export interface AppSettings {
  name: string;
  previews: boolean;
}

/** POST /api/apps/:app/promote */
export interface Promoted {
  environment: string;
  release: Release;
  log: string[];
}

/** GET /api/apps/:app/domains (one element); POST and the certificate routes answer one. */
export interface DomainView {
  name: string;
  certificate: { state: 'none' | 'active' | 'expired'; source?: 'user' | 'acme' | null; notAfter?: string };
  createdAt: string;
}

/** DELETE /api/apps/:app/domains/:domain */
export interface DomainDeleted {
  deleted: string;
}

/** POST /api/apps/:app/maintenance and /https-redirect */
export interface Toggled {
  environment: string;
  enabled: boolean;
}

/** GET /api/whoami: the token's name, and how the request was signed in. */
export interface WhoAmI {
  name: string;
  via: 'token' | 'session';
}
