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
import { createApi } from './api/index.ts';
import { attachLogStream } from './api/log-stream.ts';
import { runSocket } from './api/run-socket.ts';
import { readConfig } from './config.ts';
import { createEdge } from './edge/index.ts';
import { endpointHost } from './endpoints.ts';
import { Environments } from './environments.ts';
import { errorMessage } from './errors.ts';
import { gitHttpHandler } from './git/http.ts';
import { GitRepos } from './git/index.ts';
import { ImageBuilder } from './images/image-builder.ts';
import { nodeStacks, publishedNodeVersions } from './images/node-versions.ts';
import { ReleaseImages } from './images/release-images.ts';
import { AppLocks } from './locks.ts';
import { LogBus } from './logs/index.ts';
import { Pipeline } from './pipeline.ts';
import { rackFactory } from './racks/factory.ts';
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
const { healthcheckTimeoutMs } = config;
const buildRack = rackFactory(docker, { installationId, healthcheckTimeoutMs, network, limits: config.instanceLimits });
const racks = new RackSet(store, secrets, buildRack, config.racks);
const logs = new LogBus(store);
const accessLogFile = path.join(config.dataDir, 'router-access.jsonl');
const edge = createEdge(config, { store, secrets, logger, accessLog: accessLogFile });
const locks = new AppLocks();
const steps = new DeploySteps(store);
const oneOff = new OneOffRunner(docker, installationId, network.isolated ? 'none' : 'host', config.instanceLimits);
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
  racks,
  locks,
  steps,
  logger,
  builder: new ImageBuilder(docker),
  detectContext,
  options: {
    buildTimeoutMs: config.buildTimeoutMs,
    drainMs: config.drainMs,
    maxSourceBytes: config.maxSourceBytes,
    maxSourceFiles: config.maxSourceFiles,
    endpointUrl,
  },
});

const hookScript = fileURLToPath(new URL('../hooks/pre-receive.mjs', import.meta.url));
const git = new GitRepos(path.join(config.dataDir, 'repos'), hookScript, path.join(config.dataDir, 'hook.json'));
await git.installHooks();
const hookSecret = crypto.randomBytes(32).toString('hex');

const deployer = new RepoDeployer({ store, pipeline, git, secrets, logger });
const environments = new Environments({ store, racks, locks, images, logger, routingSynced: () => edge.sync() });
const publicUrl = config.publicUrl ?? `http://${config.host}:${config.apiPort}`;
const limiter = new RateLimiter(config.unauthenticatedPerMinute);
const sessions = new SessionStore(store, config.sessionLifetimeMs);
const webhooks = { store, secrets, deployer, publicUrl, environments, limiter };
const api = createApi({
  store,
  pipeline,
  logs,
  git,
  racks,
  locks,
  images,
  oneOff,
  oneOffTimeoutMs: config.buildTimeoutMs,
  hookSecret,
  endpointUrl,
  logger,
  webhooks,
  secrets,
  environments,
  buildpacks: {
    docker,
    detectContext,
    sourceLimits: { maxBytes: config.maxSourceBytes, maxFiles: config.maxSourceFiles },
  },
  limiter,
  edge: edge.apiDeps(),
  steps,
  session: { sessions, lifetimeMs: config.sessionLifetimeMs },
  dashboardDir: config.dashboardDir,
});
const gitHttp = gitHttpHandler({ store, git, logger, limiter });
const server = http.createServer(async (req, res) => {
  if (!(await gitHttp(req, res))) api(req, res);
});
const runs = runSocket({ store, oneOff, timeoutMs: config.buildTimeoutMs });
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
await git.writeHookConfig({ url: `${base}/`, secret: hookSecret });

const edgeProcess = await edge.start();
const report = await reconcile(store, racks.local(), logger);
logger.info({ ...report, edge: edgeProcess.adopted ? 'adopted' : 'started' }, 'racks reconciled');

console.log(
  [
    'Widemesh is running',
    `  dashboard:   ${base}/   (sign in with the admin token)`,
    `  API:         ${base}/api`,
    `  git remote:  ${base}/APP.git   (any user name; the token is the password)`,
    `  apps:        http://APP.${config.domain}:${config.routerPort}/`,
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
  logStream.close();
  runs.close();
  server.closeAllConnections();
  // a pushed build still streaming must not keep the process alive forever
  setTimeout(() => process.exit(0), 5000).unref();
  server.close(() => {
    store.close();
    process.exit(0);
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
