import crypto from 'node:crypto';
import type Database from 'better-sqlite3';

export const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/** API tokens: only their SHA-256 is stored, so a copy of the database does not grant access. */
export class TokenStore {
  constructor(private readonly db: Database.Database) {}

  any(): boolean {
    return this.db.prepare('SELECT 1 FROM tokens LIMIT 1').get() !== undefined;
  }
  create(name: string): string {
    const token = `wm_${crypto.randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO tokens (name, hash) VALUES (?, ?)').run(name, hashToken(token));
    return token;
  }
  isValid(token: string): boolean {
    return this.db.prepare('SELECT 1 FROM tokens WHERE hash = ?').get(hashToken(token)) !== undefined;
  }
}
