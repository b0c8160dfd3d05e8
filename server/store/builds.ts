import type Database from 'better-sqlite3';
import type { Build, BuildStatus } from '../../contract/api.ts';
import { NOW, type Row } from './rows.ts';

// a build row is what the API answers for it (contract/api.ts)
export type { Build, BuildStatus };
export interface LogLine {
  seq: number;
  line: string;
  at: string;
}

const toBuild = (r: Row): Build => ({
  id: r.id,
  environmentId: r.environment_id,
  commit: r.commit_sha,
  status: r.status,
  buildpack: r.buildpack,
  image: r.image,
  error: r.error,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

/** Builds of an environment and their seq-numbered logs. */
export class BuildStore {
  constructor(private readonly db: Database.Database) {}

  create(environmentId: number, commit: string | null): Build {
    const row = this.db
      .prepare("INSERT INTO builds (environment_id, commit_sha, status) VALUES (?, ?, 'building') RETURNING *")
      .get(environmentId, commit) as Row;
    return toBuild(row);
  }
  get(id: number): Build | undefined {
    const row = this.db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as Row | undefined;
    return row && toBuild(row);
  }
  /** Newest first; `limit` keeps only that many (SQLite reads no further rows). */
  list(environmentId: number, limit = -1): Build[] {
    return (
      this.db
        .prepare('SELECT * FROM builds WHERE environment_id = ? ORDER BY id DESC LIMIT ?')
        .all(environmentId, limit) as Row[]
    ).map(toBuild);
  }
  update(id: number, fields: Partial<Pick<Build, 'buildpack' | 'image'>>): void {
    if (fields.buildpack !== undefined)
      this.db.prepare('UPDATE builds SET buildpack = ? WHERE id = ?').run(fields.buildpack, id);
    if (fields.image !== undefined) this.db.prepare('UPDATE builds SET image = ? WHERE id = ?').run(fields.image, id);
  }
  finish(id: number, status: 'succeeded' | 'failed', error: string | null = null): void {
    this.db
      .prepare(`UPDATE builds SET status = ?, error = ?, finished_at = ${NOW} WHERE id = ?`)
      .run(status, error, id);
  }
  /** Every build still running fails with `reason` (after a crash); returns how many. */
  failRunning(reason: string): number {
    return this.db
      .prepare(`UPDATE builds SET status = 'failed', error = ?, finished_at = ${NOW} WHERE status = 'building'`)
      .run(reason).changes;
  }

  appendLog(buildId: number, seq: number, line: string): void {
    this.db.prepare('INSERT INTO build_log (build_id, seq, line) VALUES (?, ?, ?)').run(buildId, seq, line);
  }
  log(buildId: number, sinceSeq = 0): LogLine[] {
    return this.db
      .prepare('SELECT seq, line, at FROM build_log WHERE build_id = ? AND seq > ? ORDER BY seq')
      .all(buildId, sinceSeq) as LogLine[];
  }
}
