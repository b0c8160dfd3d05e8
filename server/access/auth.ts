import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { Store } from '../store/index.ts';

/** The token of a request: `Authorization: Bearer T`, or Basic auth with T as the password (git, curl -u). */
export function tokenOf(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

export function isAuthorized(store: Store, req: http.IncomingMessage): boolean {
  const token = tokenOf(req);
  return token !== undefined && token.length > 0 && store.tokens.isValid(token);
}

export function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

/** The first start creates the admin token, shows it once and saves it 0600 next to the database. */
export function issueFirstAdminToken(store: Store, file: string): string | undefined {
  if (store.tokens.any()) return undefined;
  const token = store.tokens.create('admin');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
