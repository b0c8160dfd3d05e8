/**
 * Wires Widemesh together: config → store → docker → racks → pipeline → http.
 * Everything is created here and passed in; nothing else constructs dependencies.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import pino from 'pino';
import { issueFirstAdminToken } from './access/auth.ts';
import { RateLimiter } from './access/rate-limit.ts';
import { appRoutes } from './api/apps.ts';
import { buildpackRoutes } from './api/buildpacks.ts';
import { buildRoutes } from './api/builds.ts';
import { configRoutes } from './api/config.ts';
import { edgeRoutes } from './api/edge.ts';
import { environmentRoutes } from './api/environments.ts';
import { createApi } from './api/index.ts';
import { attachLogStream } from './api/log-stream.ts';
import { processRoutes } from './api/processes.ts';
import { pushRoutes } from './api/push.ts';
import { rackRoutes } from './api/racks.ts';
import { releaseRoutes } from './api/releases.ts';
import { runSocket } from './api/run-socket.ts';
import { listenOnUnixSocket } from './api/unix-socket.ts';
import { environmentViewer } from './api/views.ts';
import { repositoryRoutes, webhookRoutes } from './api/webhooks.ts';
import { whoamiRoutes } from './api/whoami.ts';
import { readConfig } from './config.ts';
import { createEdge } from './edge/index.ts';
import { endpointHost } from './endpoints.ts';
import { Environments } from './environments.ts';
import { errorMessage } from './errors.ts';
import { gitHttpHandler } from './git/http.ts';
import { GitRepos } from './git/index.ts';
import { BuildProxy } from './images/build-proxy.ts';
import { type BuildSpaces, HostBuilds, SandboxBuilds } from './images/build-space.ts';
import { ImageBuilder } from './images/image-builder.ts';
import { nodeStacks, publishedNodeVersions } from './images/node-versions.ts';
import { defaultPackageHosts } from './images/package-hosts.ts';
import { ReleaseImages } from './images/release-images.ts';
import { Lifecycle } from './lifecycle/index.ts';
import { Rollouts } from './lifecycle/rollouts.ts';
import { Teardown } from './lifecycle/teardown.ts';
import { AppLocks } from './locks.ts';
import { LogBus } from './logs/index.ts';
import { Pipeline } from './pipeline.ts';
import { probeDiskQuota } from './racks/disk-quota.ts';
import { rackFactory } from './racks/factory.ts';
import { Healer } from './racks/healer.ts';
import { HostNetwork, IsolatedNetwork, RELAY_IMAGE } from './racks/instance-network.ts';
import { OneOffRunner } from './racks/one-off.ts';
import { RackSet } from './racks/rack-set.ts';
import { reconcile } from './racks/reconcile.ts';
import { restrictDataDir, SecretBox } from './secrets.ts';
import { DeploySteps } from './store/deploy-steps.ts';
import { type Environment, Store } from './store/index.ts';
import { SessionStore } from './store/sessions.ts';
import { RepoDeployer } from './webhooks/deployer.ts';

const config = readConfig();
const logger = pino({ level: config.logLevel, base: { component: 'server' } });

// everything this server and its children (git, SQLite, the router) create is for its own user only
process.umask(0o077);
fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
restrictDataDir(config.dataDir);
const secrets = SecretBox.open(config.dataDir, config.secretKey);
const store = new Store(path.join(config.dataDir, 'widemesh.db'), { secrets });
const installationId = store.installationId();
const interrupted = store.failInterrupted('cut off: the Widemesh server stopped during this deploy');
if (interrupted.builds || interrupted.releases)
  logger.warn(interrupted, 'marked deploys cut off by a server stop as failed');
const tokenFile = path.join(config.dataDir, 'admin-token');
const newAdminToken = issueFirstAdminToken(store, tokenFile);

const docker = new Docker();
try {
  await docker.ping();
} catch (err) {
  logger.fatal({ err: errorMessage(err) }, 'Docker does not answer; start it (scripts/up does) or set DOCKER_HOST');
  process.exit(1);
}

const endpointUrl = (env: Environment) => `http://${endpointHost(env, config.domain)}:${config.routerPort}/`;
const images = new ReleaseImages(docker, installationId, logger);
const network =
  config.instanceNetwork === 'isolated'
    ? new IsolatedNetwork(docker, RELAY_IMAGE, config.socketDir)
    : new HostNetwork();
if (network.isolated && !(await images.exists(RELAY_IMAGE))) {
  logger.fatal(`${RELAY_IMAGE} is missing: scripts/build-stacks builds it (or set WIDEMESH_INSTANCE_NETWORK=host)`);
  process.exit(1);
}
// the relay image is there whatever the network mode (scripts/build-stacks builds it); the probe runs dd in it
const diskQuota = await probeDiskQuota(docker, config.instanceDiskMb, RELAY_IMAGE);
if (!diskQuota.enforced) logger.warn(diskQuota.note);

/** The image build sandboxes run their relay with (a Node stack: scripts/build-stacks builds it). */
const SANDBOX_IMAGE = 'widemesh/stack-node:20';
async function buildSpaces(): Promise<{ spaces: BuildSpaces; stop: () => Promise<void> }> {
  if (config.buildNetwork === 'host') return { spaces: new HostBuilds(config.buildLimits), stop: async () => {} };
  if (!(await images.exists(SANDBOX_IMAGE))) {
    logger.fatal(`${SANDBOX_IMAGE} is missing: scripts/build-stacks builds it (or set WIDEMESH_BUILD_NETWORK=host)`);
    process.exit(1);
  }
  const proxyDir = path.join(config.dataDir, 'build-proxy');
  fs.mkdirSync(proxyDir, { recursive: true, mode: 0o700 });
  const proxy = new BuildProxy(config.buildAllowedHosts ?? defaultPackageHosts(), logger);
  await proxy.listen(path.join(proxyDir, 'proxy.sock'));
  const sandboxes = new SandboxBuilds(docker, {
    image: SANDBOX_IMAGE,
    proxyDir,
    installationId,
    limits: config.buildLimits,
    logger,
  });
  void sandboxes.start(); // a build that comes first makes its own sandbox
  return { spaces: sandboxes, stop: () => sandboxes.close().finally(() => proxy.close()) };
}
const builds = await buildSpaces();
const { healthcheckTimeoutMs } = config;
const limits = config.instanceLimits;
const buildRack = rackFactory(
  docker,
  { installationId, healthcheckTimeoutMs, network, limits, diskQuota },
  { installationId, healthcheckTimeoutMs, limits, domain: config.domain, edgeImage: RELAY_IMAGE },
);
const racks = new RackSet(store, secrets, buildRack, config.racks);
const logs = new LogBus(store);
const accessLogFile = path.join(config.dataDir, 'router-access.jsonl');
const edge = createEdge(config, { store, secrets, logger, accessLog: accessLogFile });
const locks = new AppLocks();
const steps = new DeploySteps(store);
const oneOff = new OneOffRunner(docker, installationId, {
  networkMode: network.isolated ? 'none' : 'host',
  limits: config.instanceLimits,
  diskQuota,
  timeoutMs: config.buildTimeoutMs,
});
const rollouts = new Rollouts({ store, racks, drainMs: config.drainMs, routingSynced: () => edge.sync() });
const teardown = new Teardown({ store, racks, logger, routingSynced: () => edge.sync() });
const nodeVersions = publishedNodeVersions();
void nodeVersions(); // warm the cache now rather than during the first deploy
const detectContext = async () => ({
  nodeStacks: await nodeStacks(docker),
  publishedNodeVersions: await nodeVersions(),
});
const pipeline = new Pipeline({
  store,
  logs,
  images,
  oneOff,
  rollouts,
  teardown,
  locks,
  steps,
  logger,
  builder: new ImageBuilder(docker, undefined, undefined, builds.spaces),
  detectContext,
  options: {
    buildTimeoutMs: config.buildTimeoutMs,
    maxSourceBytes: config.maxSourceBytes,
    maxSourceFiles: config.maxSourceFiles,
    endpointUrl,
    instanceCeiling: config.instanceCeiling,
  },
});

const hookScript = fileURLToPath(new URL('../hooks/pre-receive.mjs', import.meta.url));
const git = new GitRepos(path.join(config.dataDir, 'repos'), hookScript, path.join(config.dataDir, 'hook.json'));
await git.installHooks();
const hookSecret = crypto.randomBytes(32).toString('hex');

const deployer = new RepoDeployer({ store, pipeline, git, secrets, logger });
const environments = new Environments({ store });
const lifecycle = new Lifecycle({ store, locks, racks, rollouts, teardown, oneOff, images, git, logger });
const publicUrl = config.publicUrl ?? `http://${config.host}:${config.apiPort}`;
// failed logins (API, git, dashboard, log stream) and refused webhook deliveries: one bucket each per address
const limiter = new RateLimiter(config.unauthenticatedPerMinute);
const webhookLimiter = new RateLimiter(config.unauthenticatedPerMinute);
const sessions = new SessionStore(store, config.sessionLifetimeMs);
const webhooks = { store, secrets, deployer, publicUrl, environments, lifecycle, limiter: webhookLimiter };
const environmentView = environmentViewer(store, endpointUrl);
const sourceLimits = { maxBytes: config.maxSourceBytes, maxFiles: config.maxSourceFiles };
const api = createApi({
  store,
  logger,
  limiter,
  session: { sessions, lifetimeMs: config.sessionLifetimeMs },
  dashboardDir: config.dashboardDir,
  hooks: [
    pushRoutes({ store, git, pipeline, logs, environments, lifecycle, hookSecret, logger }),
    webhookRoutes(webhooks),
  ],
  resources: [
    appRoutes({ store, git, lifecycle, environments, environmentView }),
    environmentRoutes({ store, environments, lifecycle, pipeline, environmentView }),
    configRoutes({ store, pipeline }),
    releaseRoutes({ store, pipeline, steps }),
    buildRoutes({ store }),
    processRoutes({ store, racks, lifecycle }),
    repositoryRoutes(webhooks),
    rackRoutes({ store, secrets, racks, diskQuota }),
    buildpackRoutes({ docker, detectContext, sourceLimits }),
    edgeRoutes(edge.apiDeps()),
    whoamiRoutes(store),
  ],
});
const createApp = (name: string) => environments.createApp(name);
const gitHttp = gitHttpHandler({ store, git, logger, limiter, createApp });
const server = http.createServer(async (req, res) => {
  if (!(await gitHttp(req, res))) api(req, res);
});
const runs = runSocket({ store, oneOff });
const logStream = attachLogStream(server, {
  store,
  sessions,
  logs,
  racks,
  logger,
  accessLogFile,
  limiter,
  otherUpgrades: runs.upgrade,
});

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.apiPort, config.host, () => resolve());
});
const base = `http://${config.host}:${(server.address() as { port: number }).port}`;
const apiSocket = path.join(config.dataDir, 'api.sock');
const unixServer = await listenOnUnixSocket(server, apiSocket).catch((err) => {
  logger.warn({ err: errorMessage(err), socket: apiSocket }, 'the API is not on a unix socket');
  return undefined;
});
await git.writeHookConfig({ url: `${base}/`, secret: hookSecret });

const edgeProcess = await edge.start();
store.routing.on(() => edge.routingChanged());
const report = await reconcile(store, racks.local(), logger);
logger.info({ ...report, edge: edgeProcess.adopted ? 'adopted' : 'started' }, 'racks reconciled');
const healer = new Healer({ store, racks: () => racks.local(), locks, logger, intervalMs: config.healIntervalMs });
healer.start();

console.log(
  [
    'Widemesh is running',
    `  dashboard:   ${base}/   (sign in with the admin token)`,
    `  API:         ${base}/api${unixServer ? `   (on this machine also unix:${apiSocket})` : ''}`,
    `  git remote:  ${base}/APP.git   (any user name; the token is the password)`,
    `  apps:        http://APP.${config.domain}:${config.routerPort}/`,
    `  disk:        ${diskQuota.note}`,
    newAdminToken
      ? `  admin token: ${newAdminToken}   (shown once; also saved to ${tokenFile})`
      : `  admin token: in ${tokenFile}`,
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  edge.detach(); // apps keep serving while the server is down
  void healer.stop();
  logStream.close();
  unixServer?.close();
  runs.close();
  server.closeAllConnections();
  // a pushed build still streaming must not keep the process alive forever
  setTimeout(() => process.exit(0), 5000).unref();
  server.close(() => {
    void builds.stop().finally(() => {
      store.close();
      process.exit(0);
    });
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
