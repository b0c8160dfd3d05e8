import type http from 'node:http';
import express, { type Request } from 'express';
import type { Session as SessionView } from '../../contract/api.ts';
import { WidemeshError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import type { Session, SessionStore } from '../store/sessions.ts';
import { isAuthorized, safeEqual, tokenOf } from './auth.ts';
import type { RateLimiter } from './rate-limit.ts';

/**
 * Dashboard sign-in. The API token is exchanged once for a session cookie: HttpOnly (no script,
 * so no injected script, can read it), SameSite=Strict (no other site's page sends it). A
 * state-changing request signed in by cookie must also carry the session's CSRF token in a
 * header and come from this origin. Requests with the token itself (CLI, curl) need neither:
 * a browser never adds an Authorization header on its own.
 */
export const SESSION_COOKIE = 'widemesh_session';

/** Who is calling: the token itself (Authorization header), or a dashboard session (cookie). */
type Caller = { via: 'token' } | { via: 'session'; cookie: string; session: Session };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A request that carries a token is judged by it alone; otherwise by its session cookie. */
export function callerOf(store: Store, sessions: SessionStore, req: http.IncomingMessage): Caller | undefined {
  if (tokenOf(req) !== undefined) return isAuthorized(store, req) ? { via: 'token' } : undefined;
  const cookie = cookieOf(req, SESSION_COOKIE);
  const session = cookie ? sessions.find(cookie) : undefined;
  return session && cookie ? { via: 'session', cookie, session } : undefined;
}

/**
 * A request made by a page of another site: its Origin is not this server's, or the browser
 * says so (Sec-Fetch-Site). Browsers send Origin on every websocket upgrade and non-GET fetch.
 */
export function isCrossSite(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** Throws unless a cookie-signed request that changes something is same-origin and carries the CSRF token. */
export function assertNotForged(req: http.IncomingMessage, caller: Caller): void {
  if (caller.via === 'token' || SAFE_METHODS.has(req.method ?? 'GET')) return;
  if (isCrossSite(req))
    throw new WidemeshError('CROSS_SITE_REQUEST', 'a page of another site cannot act with a dashboard session', 403);
  const sent = req.headers['x-csrf-token'];
  if (typeof sent !== 'string' || !safeEqual(sent, caller.session.csrfToken))
    throw new WidemeshError(
      'CSRF_TOKEN_INVALID',
      'this request needs the dashboard session’s CSRF token (x-csrf-token header); reload the dashboard and retry',
      403,
    );
}

interface SessionRouteDeps {
  store: Store;
  sessions: SessionStore;
  limiter: RateLimiter;
  lifetimeMs: number;
}

const cookieOptions = (req: Request, maxAge?: number) =>
  ({ httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure, maxAge }) as const;

/** POST /api/session {token} signs in; GET tells the page its session (after a reload); DELETE signs out. */
export function sessionRoutes(deps: SessionRouteDeps): express.Router {
  const { sessions, limiter } = deps;
  const router = express.Router();
  const signedIn = (req: Request) => {
    const caller = callerOf(deps.store, sessions, req);
    if (caller?.via !== 'session') throw new WidemeshError('UNAUTHORIZED', 'not signed in', 401);
    return caller;
  };

  router.post('/api/session', express.json({ limit: '4kb' }), (req, res) => {
    if (isCrossSite(req)) throw new WidemeshError('CROSS_SITE_REQUEST', 'sign in from the dashboard itself', 403);
    const token: unknown = req.body?.token;
    const opened = typeof token === 'string' && token.length > 0 ? sessions.open(token.trim()) : undefined;
    // a valid token signs in whatever others failed from this address; a wrong one meets the limit
    if (!opened) {
      limiter.check(req);
      limiter.count(req);
      throw new WidemeshError('UNAUTHORIZED', 'that token is not valid: use the admin token scripts/up printed', 401);
    }
    const { cookie, ...session } = opened;
    res.cookie(SESSION_COOKIE, cookie, cookieOptions(req, deps.lifetimeMs));
    res.status(201).json(session satisfies SessionView);
  });
  router.get('/api/session', (req, res) => {
    res.json(signedIn(req).session satisfies SessionView);
  });
  router.delete('/api/session', (req, res) => {
    const caller = signedIn(req);
    assertNotForged(req, caller);
    sessions.close(caller.cookie);
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.status(204).end();
  });
  return router;
}
