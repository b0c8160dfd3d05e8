import type http from 'node:http';
import type pino from 'pino';
import { isAuthorized } from '../access/auth.ts';
import type { RateLimiter } from '../access/rate-limit.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { type GitRepos, type GitRequest, parseGitUrl } from './index.ts';

function answer(res: http.ServerResponse, status: number, text: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(`${text}\n`);
}

/**
 * Smart-HTTP git for `/APP.git/...`: a token on every request (the HTTP password), and, like
 * Dokku, the first push creates the app. Returns false for URLs that are not git's.
 */
interface GitHttpDeps {
  store: Store;
  git: GitRepos;
  logger: pino.Logger;
  limiter: RateLimiter;
  /** makes an app (refusing a name another app's endpoint holds) */
  createApp: (name: string) => unknown;
}

export function gitHttpHandler(deps: GitHttpDeps) {
  const { store, git, logger, limiter } = deps;

  const ensureRepository = async (request: GitRequest): Promise<boolean> => {
    if (store.apps.get(request.app)) {
      if (!(await git.exists(request.app))) await git.create(request.app);
      return true;
    }
    if (!request.wantsPush) return false;
    deps.createApp(request.app);
    await git.create(request.app);
    logger.info({ app: request.app }, 'app created by its first push');
    return true;
  };

  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => {
    const request = parseGitUrl(req.url ?? '/');
    if (!request) return false;
    if (!isAuthorized(store, req)) {
      // git asks without credentials first to get the challenge: only a wrong token is a failed login,
      // and only failed logins meet the limit (a valid token is never throttled by others' failures)
      if (req.headers.authorization) {
        if (!limiter.allows(req)) {
          const { message, retryAfter } = limiter.limited();
          answer(res, 429, message, { 'retry-after': String(retryAfter) });
          return true;
        }
        limiter.count(req);
      }
      const challenge = { 'www-authenticate': 'Basic realm="widemesh"' };
      answer(res, 401, 'a Widemesh token is required as the HTTP password', challenge);
      return true;
    }
    try {
      if (await ensureRepository(request)) git.handle(req, res);
      else answer(res, 404, `no app named ${request.app}`);
    } catch (err) {
      if (err instanceof WidemeshError && err.status < 500) {
        answer(res, err.status, err.message);
        return true;
      }
      logger.error({ err: errorMessage(err), app: request.app }, 'git request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
    return true;
  };
}
