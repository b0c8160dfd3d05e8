import type Database from 'better-sqlite3';
import type { Row } from './rows.ts';

type RolloutOrder = 'sequential' | 'parallel';

/** Cloud providers (settings sealed: they hold credentials) and the racks each environment runs in. */
export class RackStore {
  constructor(private readonly db: Database.Database) {}

  setProvider(name: string, type: string, sealedSettings: string): void {
    this.db
      .prepare(
        'INSERT INTO providers (name, type, sealed_settings) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET type = excluded.type, sealed_settings = excluded.sealed_settings',
      )
      .run(name, type, sealedSettings);
  }
  providers(): { name: string; type: string; sealedSettings: string }[] {
    return (this.db.prepare('SELECT * FROM providers ORDER BY name').all() as Row[]).map((r) => ({
      name: r.name,
      type: r.type,
      sealedSettings: r.sealed_settings,
    }));
  }
  removeProvider(name: string): boolean {
    return this.db.prepare('DELETE FROM providers WHERE name = ?').run(name).changes === 1;
  }
  /** How many environments list a rack of provider `name`. */
  environmentsUsing(name: string): number {
    return (this.db.prepare('SELECT racks FROM environment_racks').all() as Row[]).filter((r) =>
      JSON.parse(r.racks).some((x: { provider?: string }) => x.provider === name),
    ).length;
  }

  setForEnvironment(environmentId: number, racks: unknown[], rollout: RolloutOrder): void {
    this.db
      .prepare(
        'INSERT INTO environment_racks (environment_id, racks, rollout) VALUES (?, ?, ?) ON CONFLICT (environment_id) DO UPDATE SET racks = excluded.racks, rollout = excluded.rollout',
      )
      .run(environmentId, JSON.stringify(racks), rollout);
  }
  /** The racks an environment was given, or undefined: it runs in the server's default racks. */
  forEnvironment(environmentId: number): { racks: unknown[]; rollout: RolloutOrder } | undefined {
    const r = this.db.prepare('SELECT * FROM environment_racks WHERE environment_id = ?').get(environmentId) as
      | Row
      | undefined;
    return r && { racks: JSON.parse(r.racks), rollout: r.rollout };
  }
}
