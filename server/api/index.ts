import express, { type NextFunction, type Request, type Response } from 'express';
import type pino from 'pino';
import type { ApiErrorBody } from '../../contract/api.ts';
import { RateLimitedError, type RateLimiter } from '../access/rate-limit.ts';
import { assertNotForged, callerOf, sessionRoutes } from '../access/session.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import type { SessionStore } from '../store/sessions.ts';
import { dashboardRoutes } from './dashboard.ts';
import { assertPlainQuery } from './lookup.ts';

interface ApiDeps {
  store: Store;
  logger: pino.Logger;
  limiter: RateLimiter;
  /** Dashboard sign-ins (cookie sessions) and how long they last. */
  session: { sessions: SessionStore; lifetimeMs: number };
  dashboardDir: string;
  /** Routes with an authentication of their own (the git hook's secret, webhook signatures). */
  hooks: express.Router[];
  /** The resources under /api, one router each; every request to them needs a token or a session. */
  resources: express.Router[];
}

/** The API port: the dashboard, sign-in, the hook and webhook routes, and /api behind a token. */
export function createApi(deps: ApiDeps): express.Express {
  const api = express();
  api.disable('x-powered-by');
  api.use((req, _res, next) => {
    assertPlainQuery(Object.entries(req.query));
    next();
  });
  for (const hook of deps.hooks) api.use(hook);
  api.use(dashboardRoutes(deps.dashboardDir));
  api.use(sessionRoutes({ ...deps.session, store: deps.store, limiter: deps.limiter }));
  api.use('/api', requireCaller(deps));
  api.use('/api', express.json({ limit: '1mb' }));
  for (const resource of deps.resources) api.use('/api', resource);
  api.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such API route' } } satisfies ApiErrorBody);
  });
  api.use(errorAnswer(deps.logger));
  return api;
}

/** A token or a session (whose changes carry its CSRF token), else 401. */
function requireCaller({ store, limiter, session }: ApiDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    const caller = callerOf(store, session.sessions, req);
    if (caller) {
      assertNotForged(req, caller);
      return next();
    }
    // only requests nobody vouched for meet the limit: others' failures never lock a valid token out
    limiter.check(req);
    if (req.headers.authorization) limiter.count(req);
    res.setHeader('WWW-Authenticate', 'Bearer realm="widemesh"');
    const message = 'a valid token is required (Authorization: Bearer <token>)';
    res.status(401).json({ error: { code: 'UNAUTHORIZED', message } } satisfies ApiErrorBody);
  };
}

/** `{"error": {"code", "message"}}`: a WidemeshError as it says, a bad body as 400/413, anything else as 500. */
function errorAnswer(logger: pino.Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const answer = (status: number, code: string, message: string) =>
      res.status(status).json({ error: { code, message } } satisfies ApiErrorBody);
    if (err instanceof RateLimitedError) res.setHeader('retry-after', String(err.retryAfter));
    if (err instanceof WidemeshError) return answer(err.status, err.code, err.message);
    const { type } = err as { type?: string };
    if (type === 'entity.parse.failed') return answer(400, 'INVALID_JSON', 'the request body is not valid JSON');
    if (type === 'entity.too.large') return answer(413, 'BODY_TOO_LARGE', 'the request body is too large');
    logger.error({ err: errorMessage(err), method: req.method, path: req.path }, 'API request failed');
    answer(500, 'INTERNAL', 'internal error; the server log has the details');
  };
}
