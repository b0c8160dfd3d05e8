import type Database from 'better-sqlite3';
import type { RoutingEvents, Row } from './rows.ts';

/** A host name outside the platform domain attached to one environment; the key is sealed. */
export interface Domain {
  name: string;
  environmentId: number;
  certPem: string | null;
  sealedKey: string | null;
  certSource: 'user' | 'acme' | null;
  notAfter: string | null;
  createdAt: string;
}

export interface EdgeSettings {
  maintenance: boolean;
  httpsRedirect: boolean;
}

const toDomain = (r: Row): Domain => ({
  name: r.name,
  environmentId: r.environment_id,
  certPem: r.cert_pem,
  sealedKey: r.sealed_key,
  certSource: r.cert_source,
  notAfter: r.not_after,
  createdAt: r.created_at,
});

/** The edge's own tables (maintenance mode, custom domains); every write changes routing. */
export class EdgeStore {
  constructor(
    private readonly db: Database.Database,
    private readonly routing: RoutingEvents,
  ) {}

  settings(environmentId: number): EdgeSettings {
    const r = this.db.prepare('SELECT * FROM edge_settings WHERE environment_id = ?').get(environmentId) as
      | Row
      | undefined;
    return { maintenance: r?.maintenance === 1, httpsRedirect: r?.https_redirect === 1 };
  }
  updateSettings(environmentId: number, change: Partial<EdgeSettings>): EdgeSettings {
    const next = { ...this.settings(environmentId), ...change };
    this.db
      .prepare(
        `INSERT INTO edge_settings (environment_id, maintenance, https_redirect) VALUES (?, ?, ?)
         ON CONFLICT (environment_id) DO UPDATE SET maintenance = excluded.maintenance, https_redirect = excluded.https_redirect`,
      )
      .run(environmentId, next.maintenance ? 1 : 0, next.httpsRedirect ? 1 : 0);
    this.routing.changed();
    return next;
  }

  domains(environmentId?: number): Domain[] {
    const rows =
      environmentId === undefined
        ? this.db.prepare('SELECT * FROM domains ORDER BY name').all()
        : this.db.prepare('SELECT * FROM domains WHERE environment_id = ? ORDER BY name').all(environmentId);
    return (rows as Row[]).map(toDomain);
  }
  domain(name: string): Domain | undefined {
    const r = this.db.prepare('SELECT * FROM domains WHERE name = ?').get(name) as Row | undefined;
    return r && toDomain(r);
  }
  addDomain(name: string, environmentId: number): void {
    this.db.prepare('INSERT INTO domains (name, environment_id) VALUES (?, ?)').run(name, environmentId);
    this.routing.changed();
  }
  removeDomain(name: string): boolean {
    const removed = this.db.prepare('DELETE FROM domains WHERE name = ?').run(name).changes === 1;
    if (removed) this.routing.changed();
    return removed;
  }
  setCertificate(name: string, cert: { pem: string; sealedKey: string; source: 'user' | 'acme'; notAfter: string }) {
    this.db
      .prepare('UPDATE domains SET cert_pem = ?, sealed_key = ?, cert_source = ?, not_after = ? WHERE name = ?')
      .run(cert.pem, cert.sealedKey, cert.source, cert.notAfter, name);
    this.routing.changed();
  }
}
