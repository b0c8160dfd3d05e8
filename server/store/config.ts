import type Database from 'better-sqlite3';
import type { Row, Sealer } from './rows.ts';

/** Config vars: the desired config of an environment (values sealed at rest); releases snapshot it. */
export class ConfigStore {
  constructor(
    private readonly db: Database.Database,
    private readonly sealer: () => Sealer,
  ) {}

  /** Unseals every value: read it once per operation (Store.deployContext) and pass it on. */
  get(environmentId: number): Record<string, string> {
    const rows = this.db
      .prepare('SELECT key, value, sealed FROM config_vars WHERE environment_id = ? ORDER BY key')
      .all(environmentId) as Row[];
    return Object.fromEntries(rows.map((r) => [r.key, r.sealed ? this.sealer().unseal(r.value) : r.value]));
  }
  replace(environmentId: number, vars: Record<string, string>): void {
    const sealer = this.sealer();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM config_vars WHERE environment_id = ?').run(environmentId);
      const insert = this.db.prepare(
        'INSERT INTO config_vars (environment_id, key, value, sealed) VALUES (?, ?, ?, 1)',
      );
      for (const [key, value] of Object.entries(vars)) insert.run(environmentId, key, sealer.seal(value));
    })();
  }
}
