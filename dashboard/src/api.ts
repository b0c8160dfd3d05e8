import type { ApiErrorBody, Session } from '../../contract/api.ts';

/**
 * The dashboard's one way to the server: the same JSON API the CLI uses, same origin, signed in
 * by the session cookie (HttpOnly, so no script here ever holds the token). Every request that
 * changes something carries the session's CSRF token in a header a cross-site page cannot set.
 */

/** An API failure in words a user can act on: the server's code and message, or what went wrong on the way. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => {};

/** Called when the server says the session is gone (expired, revoked): the app shows the sign-in page. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'The Widemesh server did not answer. Check that it is running, then retry.');
  }
  const text = await res.text();
  const parsed = text ? safeJson(text) : undefined;
  if (res.ok) return parsed as T;
  const error = (parsed as ApiErrorBody | undefined)?.error;
  if (res.status === 401 && path !== '/api/session') {
    csrfToken = undefined;
    onSignedOut();
  }
  throw new ApiError(
    res.status,
    error?.code ?? `HTTP_${res.status}`,
    error?.message ?? `${res.status} ${res.statusText}`,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const get = <T>(path: string) => request<T>('GET', path);

/** Exchanges the API token for a session cookie; the token itself is not kept anywhere in the browser. */
export async function signIn(token: string): Promise<Session> {
  const session = await request<Session>('POST', '/api/session', { token });
  csrfToken = session.csrfToken;
  return session;
}

/** The session of an earlier sign-in (the cookie survives a reload), or undefined. */
export async function resumeSession(): Promise<Session | undefined> {
  try {
    const session = await request<Session>('GET', '/api/session');
    csrfToken = session.csrfToken;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signOut(): Promise<void> {
  await request<void>('DELETE', '/api/session');
  csrfToken = undefined;
}

/** `/api/apps/NAME/...?environment=ENV` with the app name and environment escaped. */
export function appPath(app: string, rest: string, environment?: string): string {
  const query = environment ? `?environment=${encodeURIComponent(environment)}` : '';
  return `/api/apps/${encodeURIComponent(app)}${rest}${query}`;
}

/** The log websocket's address (same origin, so the session cookie goes with the upgrade). */
export function logSocketUrl(app: string, params: Record<string, string>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams(params).toString();
  return `${scheme}//${location.host}/api/apps/${encodeURIComponent(app)}/logs?${query}`;
}
