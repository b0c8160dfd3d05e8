import type Database from 'better-sqlite3';
import type { AppManifest } from '../../buildpacks/app-json.ts';
import type { ReleaseStatus } from '../../contract/api.ts';
import type { Row, Sealer } from './rows.ts';

export type { ReleaseStatus };

/** The parts of app.json a release keeps: how to check and prepare it. */
export type ReleaseManifest = Partial<Pick<AppManifest, 'healthchecks' | 'scripts' | 'resources'>>;

export interface Release {
  id: number;
  /** What app.json (or CHECKS) said when this release was built: health checks, scripts. */
  manifest: ReleaseManifest;
  environmentId: number;
  version: number;
  buildId: number | null;
  image: string;
  processes: Record<string, string>;
  config: Record<string, string>;
  description: string;
  status: ReleaseStatus;
  error: string | null;
  createdAt: string;
}

export type NewRelease = Pick<
  Release,
  'environmentId' | 'buildId' | 'image' | 'processes' | 'config' | 'manifest' | 'description'
>;

const LIVE = "environment_id = ? AND status = 'succeeded'";

/** Numbered releases of an environment (image + config snapshot, sealed at rest). */
export class ReleaseStore {
  constructor(
    private readonly db: Database.Database,
    private readonly sealer: () => Sealer,
  ) {}

  /** The next version of the environment, deploying; returned without reading it back. */
  create(r: NewRelease): Release {
    const row = this.db
      .prepare(
        `INSERT INTO releases (environment_id, version, build_id, image, processes, config, config_sealed, manifest, description, status)
         SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, 1, ?, ?, 'deploying' FROM releases WHERE environment_id = ?
         RETURNING id, version, status, created_at`,
      )
      .get(
        r.environmentId,
        r.buildId,
        r.image,
        JSON.stringify(r.processes),
        this.sealer().seal(JSON.stringify(r.config)),
        JSON.stringify(r.manifest),
        r.description,
        r.environmentId,
      ) as Row;
    const { environmentId, buildId, image, processes, config, manifest, description } = r;
    const written = { environmentId, buildId, image, processes, config, manifest, description };
    return { ...written, id: row.id, version: row.version, status: row.status, error: null, createdAt: row.created_at };
  }
  byId(id: number): Release | undefined {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as Row | undefined;
    return row && this.toRelease(row);
  }
  get(environmentId: number, version: number): Release | undefined {
    const row = this.db
      .prepare('SELECT * FROM releases WHERE environment_id = ? AND version = ?')
      .get(environmentId, version) as Row | undefined;
    return row && this.toRelease(row);
  }
  /** Newest first; `limit` keeps only that many (each release's config is unsealed, so ask for what you show). */
  list(environmentId: number, limit = -1): Release[] {
    return (
      this.db
        .prepare('SELECT * FROM releases WHERE environment_id = ? ORDER BY version DESC LIMIT ?')
        .all(environmentId, limit) as Row[]
    ).map((r) => this.toRelease(r));
  }
  /** The newest release that went live. */
  current(environmentId: number): Release | undefined {
    const row = this.db
      .prepare(`SELECT * FROM releases WHERE ${LIVE} ORDER BY version DESC LIMIT 1`)
      .get(environmentId) as Row | undefined;
    return row && this.toRelease(row);
  }
  /** The images of the newest `limit` releases that went live, newest first (no config is unsealed). */
  liveImages(environmentId: number, limit = -1): string[] {
    return (
      this.db
        .prepare(`SELECT image FROM releases WHERE ${LIVE} ORDER BY version DESC LIMIT ?`)
        .all(environmentId, limit) as Row[]
    ).map((r) => r.image);
  }
  finish(id: number, status: 'succeeded' | 'failed', error: string | null = null): void {
    this.db.prepare('UPDATE releases SET status = ?, error = ? WHERE id = ?').run(status, error, id);
  }
  /** Keeps what the release phase printed for the release. */
  setOutput(releaseId: number, lines: string[]): void {
    this.db
      .prepare('INSERT OR REPLACE INTO release_output (release_id, lines) VALUES (?, ?)')
      .run(releaseId, JSON.stringify(lines));
  }
  /** What the release phase printed; undefined when none ran for this release. */
  output(releaseId: number): string[] | undefined {
    const row = this.db.prepare('SELECT lines FROM release_output WHERE release_id = ?').get(releaseId) as
      | Row
      | undefined;
    return row && (JSON.parse(row.lines as string) as string[]);
  }
  /** Every release still deploying fails with `reason` (after a crash); returns how many. */
  failDeploying(reason: string): number {
    return this.db.prepare("UPDATE releases SET status = 'failed', error = ? WHERE status = 'deploying'").run(reason)
      .changes;
  }

  private toRelease(r: Row): Release {
    return {
      id: r.id,
      environmentId: r.environment_id,
      version: r.version,
      buildId: r.build_id,
      image: r.image,
      processes: JSON.parse(r.processes),
      config: JSON.parse(r.config_sealed ? this.sealer().unseal(r.config) : r.config),
      manifest: JSON.parse(r.manifest),
      description: r.description,
      status: r.status,
      error: r.error,
      createdAt: r.created_at,
    };
  }
}
