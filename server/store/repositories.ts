import type Database from 'better-sqlite3';
import type { Delivery } from '../../contract/api.ts';
import type { Row } from './rows.ts';

/** An app's connection to a GitHub or Bitbucket repository; secret and credentials are sealed. */
export interface Repository {
  appId: number;
  gitHost: 'github' | 'bitbucket';
  cloneUrl: string;
  sealedSecret: string;
  sealedCredentials: string | null;
  branches: Record<string, string>;
}
// a delivery row is what the API answers for it (contract/api.ts)
export type { Delivery };

const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  appId: r.app_id,
  gitHost: r.git_host,
  event: r.event,
  ref: r.ref,
  commit: r.commit_sha,
  outcome: r.outcome,
  buildId: r.build_id,
  receivedAt: r.received_at,
});

/** Repositories connected to apps, and the webhook deliveries they sent. */
export class RepositoryStore {
  constructor(private readonly db: Database.Database) {}

  set(r: Repository): void {
    this.db
      .prepare(
        `INSERT INTO repositories (app_id, git_host, clone_url, secret, credentials, branches) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id) DO UPDATE SET git_host = excluded.git_host, clone_url = excluded.clone_url, secret = excluded.secret,
       credentials = excluded.credentials, branches = excluded.branches`,
      )
      .run(r.appId, r.gitHost, r.cloneUrl, r.sealedSecret, r.sealedCredentials, JSON.stringify(r.branches));
  }
  get(appId: number): Repository | undefined {
    const r = this.db.prepare('SELECT * FROM repositories WHERE app_id = ?').get(appId) as Row | undefined;
    return (
      r && {
        appId: r.app_id,
        gitHost: r.git_host,
        cloneUrl: r.clone_url,
        sealedSecret: r.secret,
        sealedCredentials: r.credentials,
        branches: JSON.parse(r.branches),
      }
    );
  }
  remove(appId: number): void {
    this.db.prepare('DELETE FROM repositories WHERE app_id = ?').run(appId);
  }

  /** False when this delivery id, or this body for the app, was seen before (a redelivery or a replay). */
  recordDelivery(
    d: Pick<Delivery, 'id' | 'appId' | 'gitHost' | 'event' | 'ref' | 'commit' | 'outcome'> & { bodySha256?: string },
  ): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO deliveries (id, app_id, git_host, event, ref, commit_sha, outcome, body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(d.id, d.appId, d.gitHost, d.event, d.ref, d.commit, d.outcome, d.bodySha256 ?? null).changes === 1
    );
  }
  updateDelivery(id: string, outcome: string, buildId?: number): void {
    this.db
      .prepare('UPDATE deliveries SET outcome = ?, build_id = COALESCE(?, build_id) WHERE id = ?')
      .run(outcome, buildId ?? null, id);
  }
  deliveries(appId: number): Delivery[] {
    return (
      this.db
        .prepare('SELECT * FROM deliveries WHERE app_id = ? ORDER BY received_at DESC, rowid DESC')
        .all(appId) as Row[]
    ).map(toDelivery);
  }
  /** Deliveries whose deploy was cut off (after a crash) are marked failed with `reason`. */
  failUnfinishedDeliveries(reason: string): void {
    this.db
      .prepare("UPDATE deliveries SET outcome = ? WHERE outcome IN ('queued', 'deploying')")
      .run(`failed: ${reason}`);
  }
}
