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
  /** The name a token was created with (`admin`), or undefined for an unknown token. */
  nameOf(token: string): string | undefined {
    const row = this.db.prepare('SELECT name FROM tokens WHERE hash = ?').get(hashToken(token)) as
      | { name: string }
      | undefined;
    return row?.name;
  }
  isValid(token: string): boolean {
    return this.db.prepare('SELECT 1 FROM tokens WHERE hash = ?').get(hashToken(token)) !== undefined;
  }
}
