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
import { isAuthorized } from './api/auth.ts';
import { createApi } from './api/index.ts';
import { attachLogStream } from './api/log-stream.ts';
import { ImageBuilder } from './build/image-builder.ts';
import { nodeStacks, publishedNodeVersions } from './build/node-versions.ts';
import { type RackConfig, readConfig } from './config.ts';
import { errorMessage } from './errors.ts';
import { GitRepos, parseGitUrl } from './git/index.ts';
import { AppLocks } from './locks.ts';
import { LogBus } from './logs/index.ts';
import { Pipeline } from './pipeline.ts';
import { AppRunnerRack } from './racks/app-runner.ts';
import { CloudRunRack } from './racks/cloud-run.ts';
import { LocalRack } from './racks/local.ts';
import type { Rack } from './racks/rack.ts';
import { RackSet } from './racks/rack-set.ts';
import { reconcile } from './racks/reconcile.ts';
import { ensureRouter } from './router/process.ts';
import { SecretBox } from './secrets.ts';
import { type Environment, Store } from './store/index.ts';
import { RepoDeployer } from './webhooks/deployer.ts';

const config = readConfig();
const logger = pino({ level: config.logLevel, base: { component: 'server' } });

fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
const store = new Store(path.join(config.dataDir, 'widemesh.db'));
const installationId = store.installationId();
const interrupted = store.failInterrupted('cut off: the Widemesh server stopped during this deploy');
if (interrupted.builds || interrupted.releases)
  logger.warn(interrupted, 'marked deploys cut off by a server stop as failed');

let newAdminToken: string | undefined;
const tokenFile = path.join(config.dataDir, 'admin-token');
if (!store.hasTokens()) {
  newAdminToken = store.createToken('admin');
  fs.writeFileSync(tokenFile, `${newAdminToken}\n`, { mode: 0o600 });
}

const docker = new Docker();
try {
  await docker.ping();
} catch (err) {
  logger.fatal({ err: errorMessage(err) }, 'Docker does not answer; start it (scripts/up does) or set DOCKER_HOST');
  process.exit(1);
}

const endpointUrl = (env: Environment) => {
  const host =
    env.name === 'production' ? `${env.appName}.${config.domain}` : `${env.appName}-${env.name}.${config.domain}`;
  return `http://${host}:${config.routerPort}/`;
};

const CLOUD_DEPLOY_TIMEOUT_MS = 15 * 60 * 1000;
const buildRack = (rack: RackConfig): Rack => {
  switch (rack.kind) {
    case 'local':
      return new LocalRack(rack.name, docker, { installationId, healthcheckTimeoutMs: config.healthcheckTimeoutMs });
    case 'cloud-run':
      return new CloudRunRack(
        {
          ...rack.provider,
          name: rack.name,
          location: rack.location,
          timeoutMs: (rack.provider.deployTimeoutSeconds ?? 0) * 1000 || CLOUD_DEPLOY_TIMEOUT_MS,
        },
        docker,
      );
    case 'app-runner':
      return new AppRunnerRack(
        {
          ...rack.provider,
          name: rack.name,
          region: rack.region,
          timeoutMs: (rack.provider.deployTimeoutSeconds ?? 0) * 1000 || CLOUD_DEPLOY_TIMEOUT_MS,
          credentials: { accessKeyId: rack.provider.accessKeyId, secretAccessKey: rack.provider.secretAccessKey },
          serviceUrlScheme: rack.provider.serviceUrlScheme ?? 'https',
        },
        docker,
      );
  }
};
const secrets = SecretBox.open(config.dataDir, process.env.WIDEMESH_SECRET_KEY);
const racks = new RackSet(store, secrets, buildRack, config.racks);
const logs = new LogBus(store);
const locks = new AppLocks();
const nodeVersions = publishedNodeVersions();
void nodeVersions(); // warm the cache now rather than during the first deploy
const detectContext = async () => ({
  nodeStacks: await nodeStacks(docker),
  publishedNodeVersions: await nodeVersions(),
});
const pipeline = new Pipeline({
  store,
  logs,
  docker,
  racks,
  locks,
  logger,
  builder: new ImageBuilder(docker),
  detectContext,
  options: {
    installationId,
    buildTimeoutMs: config.buildTimeoutMs,
    drainMs: config.drainMs,
    maxSourceBytes: config.maxSourceBytes,
    endpointUrl,
  },
});

const git = new GitRepos(
  path.join(config.dataDir, 'repos'),
  fileURLToPath(new URL('../hooks/pre-receive.mjs', import.meta.url)),
);
await git.installHooks();

// The pre-receive hook runs inside git receive-pack, a child of this process: it finds us through its environment.
const hookSecret = crypto.randomBytes(32).toString('hex');
process.env.WIDEMESH_HOOK_SECRET = hookSecret;

const deployer = new RepoDeployer({ store, pipeline, git, secrets, logger });
const publicUrl = process.env.WIDEMESH_PUBLIC_URL ?? `http://${config.host}:${config.apiPort}`;
const api = createApi({
  store,
  pipeline,
  logs,
  git,
  racks,
  locks,
  hookSecret,
  endpointUrl,
  logger,
  webhooks: { store, secrets, deployer, publicUrl },
  secrets,
  stacks: { docker, detectContext, maxSourceBytes: config.maxSourceBytes },
});

const server = http.createServer(async (req, res) => {
  const gitRequest = parseGitUrl(req.url ?? '/');
  if (!gitRequest) return api(req, res);
  if (!isAuthorized(store, req)) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="widemesh"', 'content-type': 'text/plain' });
    res.end('a Widemesh token is required as the HTTP password\n');
    return;
  }
  try {
    // Like Dokku, the first push creates the app.
    if (!store.getApp(gitRequest.app)) {
      if (!gitRequest.wantsPush) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no app named ${gitRequest.app}\n`);
        return;
      }
      await git.create(gitRequest.app);
      if (!store.getApp(gitRequest.app)) store.createApp(gitRequest.app);
      logger.info({ app: gitRequest.app }, 'app created by its first push');
    } else if (!(await git.exists(gitRequest.app))) {
      await git.create(gitRequest.app);
    }
    git.handle(req, res);
  } catch (err) {
    logger.error({ err: errorMessage(err), app: gitRequest.app }, 'git request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  }
});

const logStream = attachLogStream(server, {
  store,
  logs,
  racks,
  logger,
  accessLogFile: path.join(config.dataDir, 'router-access.jsonl'),
});

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.apiPort, config.host, () => resolve());
});
const apiPort = (server.address() as { port: number }).port;
process.env.WIDEMESH_HOOK_URL = `http://${config.host}:${apiPort}/`;

const router = await ensureRouter({ dataDir: config.dataDir, host: config.host, port: config.routerPort, logger });
const report = await reconcile(store, racks.local(), logger);
logger.info({ ...report, router: router.adopted ? 'adopted' : 'started' }, 'racks reconciled');

const base = `http://${config.host}:${apiPort}`;
console.log(
  [
    'Widemesh is running',
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
  router.stop();
  logStream.close();
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
