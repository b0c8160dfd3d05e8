import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AllowedHost, parseAllowedHost } from './images/build-proxy.ts';

/** Everything the server reads from its environment, validated once at start. */
export interface Config {
  host: string;
  apiPort: number;
  routerPort: number;
  /** where the edge (nginx) listens: WIDEMESH_EDGE_HTTP / WIDEMESH_EDGE_HTTPS as HOST:PORT */
  edgeHttp: { host: string; port: number };
  edgeHttps: { host: string; port: number };
  /** operator-supplied certificate for *.DOMAIN (WIDEMESH_EDGE_CERT, WIDEMESH_EDGE_KEY: PEM files) */
  platformCert?: { certFile: string; keyFile: string };
  /** an ACME directory for custom domains' certificates (WIDEMESH_ACME_DIRECTORY, _EMAIL, _CA) */
  acme?: { directoryUrl: string; email?: string; caFile?: string };
  domain: string;
  dataDir: string;
  racks: RackConfig[];
  buildTimeoutMs: number;
  healthcheckTimeoutMs: number;
  /** isolated: each instance in a network namespace of its own behind a relay socket; host: the host's network. */
  instanceNetwork: 'isolated' | 'host';
  /**
   * Where isolated instances' relays put their sockets: a host path, since Docker mounts it into
   * each relay (a server that runs in a container mounts it at the same path).
   */
  socketDir: string;
  /** What one instance may use unless app.json says otherwise (memory in MiB, CPUs, processes). */
  instanceLimits: { memoryMb: number; cpus: number; pids: number };
  /** The most app.json's formation may ask for per instance. */
  instanceCeiling: { memoryMb: number; cpus: number };
  /** MiB an instance (or one-off process) may write to its file system; 0: unbounded. */
  instanceDiskMb: number;
  /** isolated: every build step in a sandbox whose only way out is the build proxy; host: the host's network. */
  buildNetwork: 'isolated' | 'host';
  /** What one build may use (memory in MiB, CPUs, processes). */
  buildLimits: { memoryMb: number; cpus: number; pids: number };
  /** Registries builds may reach through the proxy; undefined: npm's registry and the apt mirrors. */
  buildAllowedHosts: AllowedHost[] | undefined;
  drainMs: number;
  /** How often stopped or vanished instances of local racks are brought back (WIDEMESH_HEAL_SECONDS). */
  healIntervalMs: number;
  maxSourceBytes: number;
  /** Files a pushed commit may hold (each costs memory and Docker time even when empty). */
  maxSourceFiles: number;
  /** Refused webhook deliveries and failed logins one source address may make per minute. */
  unauthenticatedPerMinute: number;
  logLevel: string;
  /** Key that seals secrets at rest; undefined means a generated key file in the data directory. */
  secretKey: string | undefined;
  /** Where webhooks reach this server, as shown to users; defaults to the API's own address. */
  publicUrl: string | undefined;
  /** The dashboard's built bundle (npm run build:dashboard), served at `/` of the API port. */
  dashboardDir: string;
  /** How long a dashboard sign-in lasts before the token is asked for again. */
  sessionLifetimeMs: number;
}

export class ConfigError extends Error {}

interface GcpProvider {
  type: 'gcp';
  project: string;
  credentials: { client_email: string; private_key: string } | 'none';
  registry: string;
  endpoint?: string;
  deployTimeoutSeconds?: number;
}
interface AwsProvider {
  type: 'aws';
  accessKeyId: string;
  secretAccessKey: string;
  registry: string;
  endpoint?: string;
  accessRoleArn?: string;
  registryAuth?: { username: string; password: string; serveraddress: string };
  serviceUrlScheme?: 'http' | 'https';
  deployTimeoutSeconds?: number;
  ecrEndpoint?: string;
  /** ECS Express Mode: the role ECS manages the load balancer, target groups and scaling with. */
  infrastructureRoleArn?: string;
  /** ECS Express Mode: the task execution role (pulls from ECR, writes logs). */
  executionRoleArn?: string;
  /** ECS Express Mode: the cluster services go into (ECS's `default` unless set). */
  ecsCluster?: string;
  /** An emulator's ECS endpoint. */
  ecsEndpoint?: string;
}
/** A Docker Swarm cluster: its manager's Docker API, its registry and how the control host reaches its edge. */
export interface SwarmProvider {
  type: 'swarm';
  /** unix:///path, tcp://host:port (with `tls`) or ssh://user@host[:port] (with `sshKey`) */
  docker: string;
  tls?: { ca: string; cert: string; key: string };
  sshKey?: string;
  /** where the build host pushes images (host[:port]/path) */
  registry: string;
  /** the same registry as the cluster's nodes reach it (default: `registry`) */
  pullRegistry?: string;
  registryAuth?: { username: string; password: string; serveraddress: string };
  /** how the control host's edge reaches the region's edge: host:port of nodes, or unix:/path */
  edge: string[];
  /** the port the region's edge publishes on every node (default 80) */
  edgePort?: number;
  /** IPsec between nodes for environments' overlay networks (needs the kernel's ESP support) */
  encryptedNetworks?: boolean;
  deployTimeoutSeconds?: number;
}
export type RackConfig =
  | { kind: 'local'; name: string }
  | { kind: 'swarm'; name: string; provider: SwarmProvider }
  | { kind: 'cloud-run'; name: string; location: string; provider: GcpProvider }
  | { kind: 'app-runner'; name: string; region: string; provider: AwsProvider }
  | { kind: 'ecs-express'; name: string; region: string; provider: AwsProvider };

/**
 * WIDEMESH_RACKS_FILE: {"providers": {NAME: {...}}, "racks": [{"kind", "provider", "location"|"region"} | {"kind": "local", "name"}]}.
 * Provider credentials live in this file (keep it 0600); they are never logged or returned by the API.
 */
function readRacksFile(file: string): RackConfig[] {
  let parsed: { racks?: unknown; providers?: Record<string, unknown> } | null;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`WIDEMESH_RACKS_FILE ${file}: ${(err as Error).message}`);
  }
  return resolveRacks(parsed?.racks ?? [], parsed?.providers ?? {}, 'WIDEMESH_RACKS_FILE');
}

/** Rack specs (`{kind, provider, location|region}` or `{kind: 'local', name}`) checked against the providers they name. */
export function resolveRacks(rawRacks: unknown, providers: Record<string, unknown>, where: string): RackConfig[] {
  if (!Array.isArray(rawRacks)) throw new ConfigError(`${where}: racks must be a list`);
  // biome-ignore lint/suspicious/noExplicitAny: rack specs are untrusted JSON, checked field by field below
  const racks = rawRacks as any[];
  const need: (cond: unknown, what: string) => asserts cond = (cond, what) => {
    if (!cond) throw new ConfigError(`${where}: ${what}`);
  };
  return racks.map((rack, i) => {
    if (rack?.kind === 'local') {
      need(
        typeof rack.name === 'string' && /^local-[a-z0-9]{1,20}$/.test(rack.name),
        `racks[${i}].name must be local-<name>`,
      );
      return { kind: 'local', name: rack.name };
    }
    const provider = providers[String(rack?.provider)];
    need(provider, `racks[${i}].provider "${rack?.provider}" is not among the providers`);
    assertProvider(provider, `${where}: provider ${rack.provider}`);
    if (rack.kind === 'swarm') {
      need(provider.type === 'swarm', `racks[${i}] (swarm) needs a swarm provider`);
      return { kind: 'swarm', name: `swarm-${rack.provider}`, provider };
    }
    if (rack.kind === 'cloud-run') {
      need(provider.type === 'gcp', `racks[${i}] (cloud-run) needs a gcp provider`);
      need(
        typeof rack.location === 'string' && /^[a-z0-9-]+$/.test(rack.location),
        `racks[${i}].location is required (e.g. europe-west1)`,
      );
      return { kind: 'cloud-run', name: rack.location, location: rack.location, provider };
    }
    if (rack.kind === 'app-runner' || rack.kind === 'ecs-express') {
      need(provider.type === 'aws', `racks[${i}] (${rack.kind}) needs an aws provider`);
      need(
        typeof rack.region === 'string' && /^[a-z0-9-]+$/.test(rack.region),
        `racks[${i}].region is required (e.g. us-east-1)`,
      );
      need(
        rack.kind === 'app-runner' || (provider.infrastructureRoleArn && provider.executionRoleArn),
        `racks[${i}] (ecs-express) needs a provider with infrastructureRoleArn and executionRoleArn`,
      );
      return { kind: rack.kind, name: rack.region, region: rack.region, provider };
    }
    throw new ConfigError(`${where}: racks[${i}].kind must be local, swarm, cloud-run, app-runner or ecs-express`);
  });
}

/** A provider's settings as given to the API or the racks file: checked before anything is stored. */
export function assertProvider(
  // biome-ignore lint/suspicious/noExplicitAny: settings are untrusted JSON, checked field by field here
  p: any,
  where: string,
): asserts p is GcpProvider | AwsProvider | SwarmProvider {
  const need = (cond: unknown, what: string) => {
    if (!cond) throw new ConfigError(`${where}: ${what}`);
  };
  need(p && ['gcp', 'aws', 'swarm'].includes(p.type), 'type must be "gcp", "aws" or "swarm"');
  need(typeof p.registry === 'string' && p.registry.length > 0, 'registry (where images are pushed) is required');
  need(
    p.endpoint === undefined || (typeof p.endpoint === 'string' && /^https?:\/\//.test(p.endpoint)),
    'endpoint must be an http(s) URL',
  );
  need(
    p.deployTimeoutSeconds === undefined ||
      (Number.isInteger(p.deployTimeoutSeconds) && p.deployTimeoutSeconds >= 1 && p.deployTimeoutSeconds <= 7200),
    'deployTimeoutSeconds must be an integer from 1 to 7200',
  );
  if (p.type === 'swarm') assertSwarmProvider(p, need);
  else if (p.type === 'gcp') {
    need(typeof p.project === 'string', 'project is required');
    need(
      p.credentials === 'none'
        ? p.endpoint
        : typeof p.credentials?.client_email === 'string' && typeof p.credentials?.private_key === 'string',
      'credentials (a service account key with client_email and private_key) are required',
    );
  } else {
    need(
      typeof p.accessKeyId === 'string' && typeof p.secretAccessKey === 'string',
      'accessKeyId and secretAccessKey are required',
    );
    for (const role of ['infrastructureRoleArn', 'executionRoleArn', 'accessRoleArn'])
      need(
        p[role] === undefined || /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(p[role]),
        `${role} must be an IAM role ARN`,
      );
    need(p.ecsEndpoint === undefined || /^https?:\/\//.test(p.ecsEndpoint), 'ecsEndpoint must be an http(s) URL');
    need(
      p.ecsCluster === undefined || /^[A-Za-z0-9_-]{1,255}$/.test(p.ecsCluster),
      'ecsCluster must be a cluster name',
    );
  }
}

const SWARM_EDGE = /^(unix:\/[A-Za-z0-9._/-]+|[a-z0-9.-]+:\d{1,5}|\[[0-9a-f:]+\]:\d{1,5})$/i;

// biome-ignore lint/suspicious/noExplicitAny: settings are untrusted JSON, checked field by field here
function assertSwarmProvider(p: any, need: (cond: unknown, what: string) => void): void {
  need(
    typeof p.docker === 'string' && /^(unix:\/\/\/|tcp:\/\/|ssh:\/\/)\S+$/.test(p.docker),
    'docker must be unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST',
  );
  need(
    p.tls === undefined || ['ca', 'cert', 'key'].every((k) => typeof p.tls[k] === 'string'),
    'tls needs ca, cert and key (PEM text)',
  );
  need(p.sshKey === undefined || typeof p.sshKey === 'string', 'sshKey is a private key (PEM text)');
  need(p.pullRegistry === undefined || typeof p.pullRegistry === 'string', 'pullRegistry must be host[:port]/path');
  need(
    Array.isArray(p.edge) &&
      p.edge.length > 0 &&
      p.edge.every((e: unknown) => typeof e === 'string' && SWARM_EDGE.test(e)),
    "edge lists how this host reaches the region's edge: HOST:PORT of its nodes, or unix:/PATH",
  );
  need(
    p.edgePort === undefined || (Number.isInteger(p.edgePort) && p.edgePort >= 1 && p.edgePort <= 65535),
    'edgePort must be a port number',
  );
  need(
    p.encryptedNetworks === undefined || typeof p.encryptedNetworks === 'boolean',
    'encryptedNetworks is true or false',
  );
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** What an instance may use by default, and the most app.json may ask for (never below the default). */
function instanceLimits(env: NodeJS.ProcessEnv): Pick<Config, 'instanceLimits' | 'instanceCeiling'> {
  const memoryMb = int(env, 'WIDEMESH_INSTANCE_MEMORY_MB', 512, 32, 1_048_576);
  const cpus = int(env, 'WIDEMESH_INSTANCE_CPUS', 1, 1, 1024);
  const pids = int(env, 'WIDEMESH_INSTANCE_PIDS', 512, 16, 1_000_000);
  const ceiling = {
    memoryMb: int(env, 'WIDEMESH_INSTANCE_MAX_MEMORY_MB', Math.max(memoryMb, 2048), memoryMb, 1_048_576),
    cpus: int(env, 'WIDEMESH_INSTANCE_MAX_CPUS', Math.max(cpus, os.availableParallelism()), cpus, 1024),
  };
  return { instanceLimits: { memoryMb, cpus, pids }, instanceCeiling: ceiling };
}

/** HOST:PORT (or a bare PORT on `host`), e.g. 0.0.0.0:80 or [::1]:8443. */
function listenAddress(env: NodeJS.ProcessEnv, name: string, host: string, port: number) {
  const raw = env[name];
  if (raw === undefined || raw === '') return { host, port };
  const m = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$|^(\d{1,5})$/i.exec(raw);
  const parsedPort = Number(m?.[3] ?? m?.[4]);
  if (!m || parsedPort > 65535)
    throw new ConfigError(`${name} must be HOST:PORT or PORT (e.g. 127.0.0.1:8080, [::1]:8443), got "${raw}"`);
  return { host: m[1] ?? m[2] ?? host, port: parsedPort };
}

function platformCert(env: NodeJS.ProcessEnv): Config['platformCert'] {
  const certFile = env.WIDEMESH_EDGE_CERT;
  const keyFile = env.WIDEMESH_EDGE_KEY;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError('WIDEMESH_EDGE_CERT and WIDEMESH_EDGE_KEY go together');
  for (const file of [certFile, keyFile])
    if (!fs.existsSync(file)) throw new ConfigError(`the certificate file ${file} does not exist`);
  return { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) };
}

function acmeSettings(env: NodeJS.ProcessEnv): Config['acme'] {
  const directoryUrl = env.WIDEMESH_ACME_DIRECTORY;
  if (!directoryUrl) return undefined;
  if (!/^https?:\/\/\S+$/.test(directoryUrl))
    throw new ConfigError(`WIDEMESH_ACME_DIRECTORY must be the URL of an ACME directory, got "${directoryUrl}"`);
  const caFile = env.WIDEMESH_ACME_CA || undefined;
  if (caFile && !fs.existsSync(caFile)) throw new ConfigError(`WIDEMESH_ACME_CA: ${caFile} does not exist`);
  return { directoryUrl, email: env.WIDEMESH_ACME_EMAIL || undefined, caFile };
}

function absolutePath(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!path.isAbsolute(raw)) throw new ConfigError(`${name} must be an absolute path, got "${raw}"`);
  return raw;
}

function networkMode(name: string, raw: string | undefined): 'isolated' | 'host' {
  if (raw === undefined || raw === '' || raw === 'isolated') return 'isolated';
  if (raw === 'host') return 'host';
  throw new ConfigError(`${name} must be "isolated" or "host", got "${raw}"`);
}

function allowedHosts(raw: string | undefined): AllowedHost[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return raw
      .split(',')
      .filter((entry) => entry.trim() !== '')
      .map(parseAllowedHost);
  } catch (err) {
    throw new ConfigError(`WIDEMESH_BUILD_ALLOWED_HOSTS: ${(err as Error).message}`);
  }
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.WIDEMESH_DATA ?? path.join(os.homedir(), '.widemesh'));
  const domain = (env.WIDEMESH_DOMAIN ?? 'localhost').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
    throw new ConfigError(`WIDEMESH_DOMAIN "${domain}" is not a valid domain name`);
  }
  const localNames = (env.WIDEMESH_RACKS ?? 'local-a,local-b')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const rack of localNames) {
    if (!/^local-[a-z0-9]{1,20}$/.test(rack))
      throw new ConfigError(`WIDEMESH_RACKS: "${rack}" is not a local rack name (local-<name>)`);
  }
  const racks: RackConfig[] = env.WIDEMESH_RACKS_FILE
    ? readRacksFile(env.WIDEMESH_RACKS_FILE)
    : localNames.map((name) => ({ kind: 'local', name }));
  if (racks.length < 2) throw new ConfigError('at least two racks are needed (an environment runs in two regions)');
  if (new Set(racks.map((r) => r.name)).size !== racks.length) throw new ConfigError('rack names must be unique');
  const host = env.WIDEMESH_HOST ?? '127.0.0.1';
  const edgeHttp = listenAddress(env, 'WIDEMESH_EDGE_HTTP', host, int(env, 'WIDEMESH_ROUTER_PORT', 7080, 0, 65535));
  return {
    host,
    apiPort: int(env, 'WIDEMESH_PORT', 7070, 0, 65535),
    routerPort: edgeHttp.port,
    edgeHttp,
    edgeHttps: listenAddress(env, 'WIDEMESH_EDGE_HTTPS', host, 7443),
    platformCert: platformCert(env),
    acme: acmeSettings(env),
    domain,
    dataDir,
    racks,
    buildTimeoutMs: int(env, 'WIDEMESH_BUILD_TIMEOUT', 900, 10, 86400) * 1000,
    healthcheckTimeoutMs: int(env, 'WIDEMESH_HEALTHCHECK_TIMEOUT', 60, 1, 3600) * 1000,
    instanceNetwork: networkMode('WIDEMESH_INSTANCE_NETWORK', env.WIDEMESH_INSTANCE_NETWORK),
    buildNetwork: networkMode('WIDEMESH_BUILD_NETWORK', env.WIDEMESH_BUILD_NETWORK),
    buildLimits: {
      memoryMb: int(env, 'WIDEMESH_BUILD_MEMORY_MB', 2048, 64, 1_048_576),
      cpus: int(env, 'WIDEMESH_BUILD_CPUS', 2, 1, 1024),
      pids: int(env, 'WIDEMESH_BUILD_PIDS', 1024, 16, 1_000_000),
    },
    buildAllowedHosts: allowedHosts(env.WIDEMESH_BUILD_ALLOWED_HOSTS),
    ...instanceLimits(env),
    instanceDiskMb: int(env, 'WIDEMESH_INSTANCE_DISK_MB', 1024, 0, 1_048_576),
    socketDir: absolutePath('WIDEMESH_SOCKET_DIR', env.WIDEMESH_SOCKET_DIR) ?? path.join(dataDir, 'sockets'),
    drainMs: int(env, 'WIDEMESH_DRAIN_MS', 2000, 0, 600_000),
    healIntervalMs: int(env, 'WIDEMESH_HEAL_SECONDS', 5, 1, 3600) * 1000,
    maxSourceBytes: int(env, 'WIDEMESH_MAX_SOURCE_MB', 512, 1, 65536) * 1024 * 1024,
    maxSourceFiles: int(env, 'WIDEMESH_MAX_SOURCE_FILES', 100_000, 1, 10_000_000),
    unauthenticatedPerMinute: int(env, 'WIDEMESH_UNAUTHENTICATED_PER_MINUTE', 60, 1, 1_000_000),
    logLevel: env.WIDEMESH_LOG_LEVEL ?? 'info',
    secretKey: env.WIDEMESH_SECRET_KEY || undefined,
    publicUrl: env.WIDEMESH_PUBLIC_URL || undefined,
    dashboardDir:
      absolutePath('WIDEMESH_DASHBOARD_DIR', env.WIDEMESH_DASHBOARD_DIR) ??
      fileURLToPath(new URL('../dashboard/dist', import.meta.url)),
    sessionLifetimeMs: int(env, 'WIDEMESH_SESSION_HOURS', 12, 1, 24 * 30) * 3600 * 1000,
  };
}
