import type Database from 'better-sqlite3';
import type { RoutingEvents, Row } from './rows.ts';

export interface App {
  id: number;
  name: string;
  createdAt: string;
  /** Pushes of unmapped branches (and pull requests) get a preview environment. */
  previews: boolean;
}
export interface Environment {
  id: number;
  appId: number;
  appName: string;
  name: string;
  branch: string | null;
  /** Made for a branch or pull request, deleted with it. */
  preview: boolean;
}

const toApp = (r: Row): App => ({ id: r.id, name: r.name, createdAt: r.created_at, previews: r.previews === 1 });
const toEnvironment = (r: Row): Environment => ({
  id: r.id,
  appId: r.app_id,
  appName: r.app_name,
  name: r.name,
  branch: r.branch,
  preview: r.preview === 1,
});

const ENV_SELECT = 'SELECT e.*, a.name AS app_name FROM environments e JOIN apps a ON a.id = e.app_id';

/** Apps, their environments and each environment's formation; adding or removing one changes routing. */
export class AppStore {
  constructor(
    private readonly db: Database.Database,
    private readonly routing: RoutingEvents,
  ) {}

  /** A new app has a production environment, deployed from `main`. */
  create(name: string): App {
    const app = this.db.transaction(() => {
      const row = this.db.prepare('INSERT INTO apps (name) VALUES (?) RETURNING *').get(name) as Row;
      this.db.prepare("INSERT INTO environments (app_id, name, branch) VALUES (?, 'production', 'main')").run(row.id);
      return toApp(row);
    })();
    this.routing.changed();
    return app;
  }
  get(name: string): App | undefined {
    const row = this.db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined;
    return row && toApp(row);
  }
  list(): App[] {
    return (this.db.prepare('SELECT * FROM apps ORDER BY name').all() as Row[]).map(toApp);
  }
  /** Its environments go with it (and everything theirs). */
  delete(id: number): void {
    this.db.prepare('DELETE FROM apps WHERE id = ?').run(id);
    this.routing.changed();
  }
  setPreviews(appId: number, on: boolean): void {
    this.db.prepare('UPDATE apps SET previews = ? WHERE id = ?').run(on ? 1 : 0, appId);
  }

  environment(appName: string, envName: string): Environment | undefined {
    const row = this.db.prepare(`${ENV_SELECT} WHERE a.name = ? AND e.name = ?`).get(appName, envName) as
      | Row
      | undefined;
    return row && toEnvironment(row);
  }
  environments(appId?: number): Environment[] {
    const rows =
      appId === undefined
        ? this.db.prepare(ENV_SELECT).all()
        : this.db.prepare(`${ENV_SELECT} WHERE e.app_id = ?`).all(appId);
    return (rows as Row[]).map(toEnvironment);
  }
  createEnvironment(appId: number, name: string, branch: string | null, preview: boolean): Environment {
    const info = this.db
      .prepare('INSERT INTO environments (app_id, name, branch, preview) VALUES (?, ?, ?, ?)')
      .run(appId, name, branch, preview ? 1 : 0);
    this.routing.changed();
    return toEnvironment(this.db.prepare(`${ENV_SELECT} WHERE e.id = ?`).get(info.lastInsertRowid) as Row);
  }
  /** Its config vars, builds, releases, placements and racks go with it. */
  deleteEnvironment(id: number): void {
    this.db.prepare('DELETE FROM environments WHERE id = ?').run(id);
    this.routing.changed();
  }

  /** Instances per service, the same in every rack of the environment. */
  formation(environmentId: number): Record<string, number> {
    const rows = this.db
      .prepare('SELECT service, quantity FROM formation WHERE environment_id = ? ORDER BY service')
      .all(environmentId) as Row[];
    return Object.fromEntries(rows.map((r) => [r.service, r.quantity]));
  }
  setFormation(environmentId: number, formation: Record<string, number>): void {
    const upsert = this.db.prepare(
      'INSERT INTO formation (environment_id, service, quantity) VALUES (?, ?, ?) ON CONFLICT (environment_id, service) DO UPDATE SET quantity = excluded.quantity',
    );
    this.db.transaction(() => {
      for (const [service, quantity] of Object.entries(formation)) upsert.run(environmentId, service, quantity);
    })();
  }
}
