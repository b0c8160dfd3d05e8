import type Database from 'better-sqlite3';
import { NOW, type RoutingEvents, type Row } from './rows.ts';

/** One running copy of a service, as the router reaches it. */
export interface Instance {
  id: string;
  service: string;
  host: string;
  port: number;
  /** Reached over HTTPS (cloud racks). */
  tls?: boolean;
  /** An isolated instance is reached only through its relay's unix socket (host and port are its own). */
  socket?: string;
  /** The relay container that owns an isolated instance's network namespace. */
  sandbox?: string;
}
export interface Placement {
  environmentId: number;
  rack: string;
  releaseId: number;
  instances: Instance[];
}

const toPlacement = (r: Row): Placement => ({
  environmentId: r.environment_id,
  rack: r.rack,
  releaseId: r.release_id,
  instances: JSON.parse(r.instances),
});

/** Which instances serve an environment in each rack: what the edge routes by, so every write changes routing. */
export class PlacementStore {
  constructor(
    private readonly db: Database.Database,
    private readonly routing: RoutingEvents,
  ) {}

  of(environmentId: number): Placement[] {
    return (
      this.db.prepare('SELECT * FROM placements WHERE environment_id = ? ORDER BY rack').all(environmentId) as Row[]
    ).map(toPlacement);
  }
  all(): Placement[] {
    return (this.db.prepare('SELECT * FROM placements').all() as Row[]).map(toPlacement);
  }
  set(p: Placement): void {
    this.db
      .prepare(
        `INSERT INTO placements (environment_id, rack, release_id, instances) VALUES (?, ?, ?, ?)
       ON CONFLICT (environment_id, rack) DO UPDATE SET release_id = excluded.release_id, instances = excluded.instances,
       updated_at = ${NOW}`,
      )
      .run(p.environmentId, p.rack, p.releaseId, JSON.stringify(p.instances));
    this.routing.changed();
  }
  remove(environmentId: number, rack: string): void {
    this.db.prepare('DELETE FROM placements WHERE environment_id = ? AND rack = ?').run(environmentId, rack);
    this.routing.changed();
  }
}
