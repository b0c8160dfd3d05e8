import crypto from 'node:crypto';
import type { Store } from './index.ts';
import { hashToken } from './tokens.ts';

/** A dashboard sign-in: the cookie value is only ever in the browser; the store keeps its hash. */
export interface Session {
  csrfToken: string;
  expiresAt: string;
}

const random = () => crypto.randomBytes(32).toString('base64url');

/**
 * Dashboard sessions, each made from a valid API token and ended by sign-out, by its expiry, or
 * by the token's removal (the rows cascade). Like tokens, only the cookie value's SHA-256 is stored.
 */
export class SessionStore {
  constructor(
    private readonly store: Store,
    private readonly lifetimeMs: number,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** A new session for `token`, or undefined when the token is not valid. Returns the cookie value too. */
  open(token: string): (Session & { cookie: string }) | undefined {
    const row = this.db.prepare('SELECT id FROM tokens WHERE hash = ?').get(hashToken(token)) as
      | { id: number }
      | undefined;
    if (!row) return undefined;
    const cookie = random();
    const session = { csrfToken: random(), expiresAt: new Date(Date.now() + this.lifetimeMs).toISOString() };
    this.db
      .prepare('INSERT INTO sessions (hash, token_id, csrf, expires_at) VALUES (?, ?, ?, ?)')
      .run(hashToken(cookie), row.id, session.csrfToken, session.expiresAt);
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(new Date().toISOString());
    return { ...session, cookie };
  }

  /** The live session a cookie value names, or undefined (unknown, expired or its token removed). */
  find(cookie: string): Session | undefined {
    const row = this.db.prepare('SELECT csrf, expires_at FROM sessions WHERE hash = ?').get(hashToken(cookie)) as
      | { csrf: string; expires_at: string }
      | undefined;
    if (!row || Date.parse(row.expires_at) <= Date.now()) return undefined;
    return { csrfToken: row.csrf, expiresAt: row.expires_at };
  }

  close(cookie: string): void {
    this.db.prepare('DELETE FROM sessions WHERE hash = ?').run(hashToken(cookie));
  }
}
