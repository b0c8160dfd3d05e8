import express, { type NextFunction, type Request, type Response } from 'express';
import type pino from 'pino';
import { RateLimitedError, type RateLimiter } from '../access/rate-limit.ts';
import { assertNotForged, callerOf, sessionRoutes } from '../access/session.ts';
import type { Environments } from '../environments.ts';
import { errorMessage, notFound, WidemeshError } from '../errors.ts';
import type { GitRepos } from '../git/index.ts';
import type { ReleaseImages } from '../images/release-images.ts';
import type { AppLocks } from '../locks.ts';
import { type BuildLog, type LogBus, lineLog } from '../logs/index.ts';
import { assertAppName } from '../names.ts';
import type { Pipeline } from '../pipeline.ts';
import type { OneOffRunner } from '../racks/one-off.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { SecretBox } from '../secrets.ts';
import type { DeploySteps } from '../store/deploy-steps.ts';
import type { Environment, Store } from '../store/index.ts';
import type { SessionStore } from '../store/sessions.ts';
import { type BuildpackRouteDeps, buildpackRoutes } from './buildpacks.ts';
import { dashboardRoutes } from './dashboard.ts';
import { type EdgeApiDeps, edgeRoutes } from './edge.ts';
import { environmentRoutes } from './environments.ts';
import { appOf, environmentOf } from './lookup.ts';
import { processRoutes } from './processes.ts';
import { pushRoutes } from './push.ts';
import { rackRoutes } from './racks.ts';
import { environmentViewer, releaseView, timelineView } from './views.ts';
import { repositoryRoutes, type WebhookDeps, webhookRoutes } from './webhooks.ts';
import { whoamiRoutes } from './whoami.ts';

export interface ApiDeps {
  store: Store;
  pipeline: Pipeline;
  logs: LogBus;
  git: GitRepos;
  racks: RackSet;
  locks: AppLocks;
  images: ReleaseImages;
  oneOff: OneOffRunner;
  oneOffTimeoutMs: number;
  hookSecret: string;
  endpointUrl: (env: Environment) => string;
  logger: pino.Logger;
  webhooks: WebhookDeps;
  secrets: SecretBox;
  environments: Environments;
  buildpacks: BuildpackRouteDeps;
  limiter: RateLimiter;
  edge: EdgeApiDeps;
  steps: DeploySteps;
  /** Dashboard sign-ins (cookie sessions) and how long they last. */
  session: { sessions: SessionStore; lifetimeMs: number };
  dashboardDir: string;
}

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED_KEYS = new Set(['PORT']);
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_CONFIG_VALUE = 32 * 1024;

/** A config var change as sent (`KEY: value` or `KEY: null`), or INVALID_CONFIG saying what is wrong. */
function checkedConfigChange(key: string, value: unknown): string | null {
  if (!CONFIG_KEY.test(key))
    throw new WidemeshError(
      'INVALID_CONFIG',
      `"${key.slice(0, 64)}" is not a valid config var name (letters, digits, underscores; not starting with a digit)`,
    );
  // JSON.parse keeps "__proto__" as a key, but assigning it to an object changes the prototype instead
  if (PROTOTYPE_KEYS.has(key))
    throw new WidemeshError('INVALID_CONFIG', `"${key}" cannot be a config var name (it is an object prototype key)`);
  if (RESERVED_KEYS.has(key))
    throw new WidemeshError('INVALID_CONFIG', `${key} is set by Widemesh and cannot be changed`);
  if (value !== null && typeof value !== 'string')
    throw new WidemeshError('INVALID_CONFIG', `the value of ${key} must be a string (or null to unset it)`);
  // a process environment cannot hold NUL: Docker would refuse the container later, with a raw error
  if (typeof value === 'string' && value.includes('\0'))
    throw new WidemeshError(
      'INVALID_CONFIG',
      `the value of ${key} contains a NUL character, which no environment can hold`,
    );
  if (typeof value === 'string' && value.length > MAX_CONFIG_VALUE)
    throw new WidemeshError('INVALID_CONFIG', `the value of ${key} is longer than ${MAX_CONFIG_VALUE} characters`);
  return value as string | null;
}

/** Lines of a config change or rollback, returned in the API response. */
function collectingLog(): BuildLog & { lines: string[] } {
  const lines: string[] = [];
  return { ...lineLog((line) => lines.push(line)), lines };
}

export function createApi(deps: ApiDeps): express.Express {
  const { store, pipeline, logs, git, racks, locks, environments } = deps;
  const api = express();
  api.disable('x-powered-by');

  const app = (req: Request) => appOf(store, req);
  const environment = (req: Request) => environmentOf(store, req);
  const environmentView = environmentViewer(store, deps.endpointUrl);

  api.use(pushRoutes({ store, git, pipeline, logs, environments, hookSecret: deps.hookSecret, logger: deps.logger }));
  api.use(webhookRoutes(deps.webhooks));

  api.use(dashboardRoutes(deps.dashboardDir));
  api.use(sessionRoutes({ ...deps.session, store, limiter: deps.limiter }));

  api.use('/api', (req, res, next) => {
    // an address that failed too often is refused before its token is even looked at
    deps.limiter.check(req);
    const caller = callerOf(store, deps.session.sessions, req);
    if (caller) {
      assertNotForged(req, caller);
      return next();
    }
    if (req.headers.authorization) deps.limiter.count(req);
    res.setHeader('WWW-Authenticate', 'Bearer realm="widemesh"');
    res
      .status(401)
      .json({ error: { code: 'UNAUTHORIZED', message: 'a valid token is required (Authorization: Bearer <token>)' } });
  });
  api.use('/api', express.json({ limit: '1mb' }));

  api.get('/api/apps', (_req, res) => {
    res.json(
      store.listApps().map((a) => ({
        name: a.name,
        createdAt: a.createdAt,
        environments: store.listEnvironments(a.id).map(environmentView),
      })),
    );
  });

  api.post('/api/apps', async (req, res) => {
    const name = assertAppName(req.body?.name);
    if (store.getApp(name)) throw new WidemeshError('APP_EXISTS', `an app named "${name}" already exists`, 409);
    await git.create(name);
    store.createApp(name);
    res.status(201).json({ name, environments: store.listEnvironments(store.getApp(name)!.id).map(environmentView) });
  });

  api.get('/api/apps/:app', (req, res) => {
    const a = app(req);
    res.json({
      name: a.name,
      createdAt: a.createdAt,
      previews: a.previews,
      environments: store.listEnvironments(a.id).map(environmentView),
    });
  });

  api.delete('/api/apps/:app', async (req, res) => {
    const a = app(req);
    await locks.run(
      a.name,
      () => {},
      async () => {
        for (const env of store.listEnvironments(a.id)) {
          for (const placement of store.placements(env.id)) {
            await racks.named(env.id, placement.rack)?.stop(placement.instances);
          }
        }
        store.deleteApp(a.id);
        await git.remove(a.name);
        await deps.images.removeApp(a.name);
      },
    );
    res.json({ deleted: a.name });
  });

  api.get('/api/apps/:app/config', (req, res) => {
    const env = environment(req);
    res.json({ environment: env.name, vars: store.configVars(env.id) });
  });

  api.patch('/api/apps/:app/config', async (req, res) => {
    const env = environment(req);
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
      throw new WidemeshError(
        'INVALID_CONFIG',
        'send a JSON object of config vars: {"KEY": "value"} to set, {"KEY": null} to unset',
      );
    }
    const changes: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(body)) changes[key] = checkedConfigChange(key, value);
    const log = collectingLog();
    const release = await pipeline.setConfig(env.appName, env.name, changes, log);
    res.json({
      environment: env.name,
      vars: store.configVars(env.id),
      release: release ? releaseView(release) : null,
      log: log.lines,
    });
  });

  api.get('/api/apps/:app/releases', (req, res) => {
    res.json(store.listReleases(environment(req).id).map(releaseView));
  });

  api.post('/api/apps/:app/rollback', async (req, res) => {
    const env = environment(req);
    const version = Number(String(req.body?.version ?? '').replace(/^v/, ''));
    if (!Number.isInteger(version) || version < 1)
      throw new WidemeshError('INVALID_VERSION', 'send {"version": N} with the release number to roll back to');
    const log = collectingLog();
    const release = await pipeline.rollback(env.appName, env.name, version, log);
    res.json({ release: releaseView(release), log: log.lines });
  });

  api.get('/api/apps/:app/builds', (req, res) => {
    res.json(store.listBuilds(environment(req).id));
  });

  const build = (req: Request) => {
    const env = environment(req);
    const found = store.getBuild(Number(req.params.build));
    if (!found || found.environmentId !== env.id)
      throw notFound('BUILD_NOT_FOUND', `${env.appName} has no build ${String(req.params.build).slice(0, 20)}`);
    return found;
  };
  api.get('/api/apps/:app/builds/:build', (req, res) => {
    res.json(build(req));
  });
  api.get('/api/apps/:app/builds/:build/log', (req, res) => {
    const b = build(req);
    const since = Number(req.query.since ?? 0);
    res.json({ status: b.status, lines: store.buildLog(b.id, Number.isInteger(since) && since > 0 ? since : 0) });
  });

  api.get('/api/apps/:app/timeline', (req, res) => {
    res.json(timelineView(store, deps.steps, environment(req)));
  });

  api.use('/api', repositoryRoutes(deps.webhooks));
  api.use('/api', environmentRoutes({ store, environments, pipeline, environmentView, releaseView, collectingLog }));
  api.use('/api', rackRoutes({ store, secrets: deps.secrets, racks }));
  api.use(
    '/api',
    processRoutes({ store, pipeline, racks, oneOff: deps.oneOff, oneOffTimeoutMs: deps.oneOffTimeoutMs }),
  );
  api.use('/api', buildpackRoutes(deps.buildpacks));
  api.use('/api', whoamiRoutes(store));
  api.use('/api', edgeRoutes(deps.edge));

  api.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such API route' } });
  });

  api.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof RateLimitedError) res.setHeader('retry-after', String(err.retryAfter));
    if (err instanceof WidemeshError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'INVALID_JSON', message: 'the request body is not valid JSON' } });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'BODY_TOO_LARGE', message: 'the request body is too large' } });
      return;
    }
    deps.logger.error({ err: errorMessage(err), method: req.method, path: req.path }, 'API request failed');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } });
  });

  return api;
}
