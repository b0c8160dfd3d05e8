import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import type { AppManifest } from '../../buildpacks/app-json.ts';
import { migrations } from './migrations.ts';

/** Seals values at rest (server/secrets.ts SecretBox). */
export interface Sealer {
  seal(plain: string): string;
  unseal(sealed: string): string;
}

export type BuildStatus = 'building' | 'succeeded' | 'failed';
export type ReleaseStatus = 'deploying' | 'succeeded' | 'failed';

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
export interface Build {
  id: number;
  environmentId: number;
  commit: string | null;
  status: BuildStatus;
  buildpack: string | null;
  image: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}
export interface LogLine {
  seq: number;
  line: string;
  at: string;
}
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
/** An app's connection to a GitHub or Bitbucket repository; secret and credentials are sealed. */
export interface Repository {
  appId: number;
  gitHost: 'github' | 'bitbucket';
  cloneUrl: string;
  sealedSecret: string;
  sealedCredentials: string | null;
  branches: Record<string, string>;
}
export interface Delivery {
  id: string;
  appId: number;
  gitHost: string;
  event: string;
  ref: string | null;
  commit: string | null;
  outcome: string;
  buildId: number | null;
  receivedAt: string;
}
export interface Placement {
  environmentId: number;
  rack: string;
  releaseId: number;
  instances: Instance[];
}

/** The parts of app.json a release keeps: how to check and prepare it. */
export type ReleaseManifest = Partial<Pick<AppManifest, 'healthchecks' | 'scripts' | 'resources'>>;

export const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

// biome-ignore lint/suspicious/noExplicitAny: SQLite rows are untyped; the to* mappers below are the typed boundary
type Row = Record<string, any>;
const toApp = (r: Row): App => ({ id: r.id, name: r.name, createdAt: r.created_at, previews: r.previews === 1 });
const toEnvironment = (r: Row): Environment => ({
  id: r.id,
  appId: r.app_id,
  appName: r.app_name,
  name: r.name,
  branch: r.branch,
  preview: r.preview === 1,
});
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
const toRelease = (r: Row, config: Record<string, string>): Release => ({
  id: r.id,
  environmentId: r.environment_id,
  version: r.version,
  buildId: r.build_id,
  image: r.image,
  processes: JSON.parse(r.processes),
  config,
  manifest: JSON.parse(r.manifest),
  description: r.description,
  status: r.status,
  error: r.error,
  createdAt: r.created_at,
});
const toPlacement = (r: Row): Placement => ({
  environmentId: r.environment_id,
  rack: r.rack,
  releaseId: r.release_id,
  instances: JSON.parse(r.instances),
});

const ENV_SELECT = 'SELECT e.*, a.name AS app_name FROM environments e JOIN apps a ON a.id = e.app_id';

/**
 * The server's only persistent state. Synchronous (better-sqlite3) and small; the router
 * process opens the same file read-only to find where an environment's instances run.
 */
export class Store {
  readonly db: Database.Database;
  /** Called after anything the edge routes by changed (apps, environments, placements); the edge sets it. */
  onRoutingChange: () => void = () => {};

  /** Config var values and release config snapshots are sealed with `secrets` (needed to read or write them). */
  constructor(file: string, options: { readonly?: boolean; secrets?: Sealer } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.secrets = options.secrets;
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      // deleted or rewritten rows are zeroed, so a value sealed in place leaves no plaintext copy behind
      this.db.pragma('secure_delete = ON');
      this.migrate();
      if (this.secrets) this.sealPlaintextConfig();
    }
  }

  private readonly secrets: Sealer | undefined;

  private sealer(): Sealer {
    if (!this.secrets) throw new Error('this store was opened without the key that seals config vars');
    return this.secrets;
  }

  /** Rows written before config was sealed at rest (migration 6) are sealed once, then the WAL is emptied. */
  private sealPlaintextConfig(): void {
    const sealer = this.sealer();
    const sealed = this.db.transaction(() => {
      const vars = this.db.prepare('SELECT rowid, value FROM config_vars WHERE sealed = 0').all() as Row[];
      const releases = this.db.prepare('SELECT id, config FROM releases WHERE config_sealed = 0').all() as Row[];
      const setVar = this.db.prepare('UPDATE config_vars SET value = ?, sealed = 1 WHERE rowid = ?');
      const setRelease = this.db.prepare('UPDATE releases SET config = ?, config_sealed = 1 WHERE id = ?');
      for (const r of vars) setVar.run(sealer.seal(r.value), r.rowid);
      for (const r of releases) setRelease.run(sealer.seal(r.config), r.id);
      return vars.length + releases.length;
    })();
    if (sealed > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private toRelease(r: Row): Release {
    return toRelease(r, JSON.parse(r.config_sealed ? this.sealer().unseal(r.config) : r.config));
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    migrations.slice(current).forEach((sql, i) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${current + i + 1}`);
      })();
    });
  }

  /** Random id of this data directory: it labels the containers and images this server owns. */
  installationId(): string {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'installation'").get() as Row | undefined;
    if (row) return row.value;
    const id = crypto.randomBytes(4).toString('hex');
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('installation', ?)").run(id);
    return id;
  }

  // tokens: only their SHA-256 is stored, so a copy of the database does not grant access.
  hasTokens(): boolean {
    return this.db.prepare('SELECT 1 FROM tokens LIMIT 1').get() !== undefined;
  }
  createToken(name: string): string {
    const token = `wm_${crypto.randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO tokens (name, hash) VALUES (?, ?)').run(name, hashToken(token));
    return token;
  }
  /** The name a token was created with (`admin`), or undefined for an unknown token. */
  tokenName(token: string): string | undefined {
    const row = this.db.prepare('SELECT name FROM tokens WHERE hash = ?').get(hashToken(token)) as
      | { name: string }
      | undefined;
    return row?.name;
  }
  isValidToken(token: string): boolean {
    return this.db.prepare('SELECT 1 FROM tokens WHERE hash = ?').get(hashToken(token)) !== undefined;
  }

  // apps and environments
  createApp(name: string): App {
    const app = this.db.transaction(() => {
      const info = this.db.prepare('INSERT INTO apps (name) VALUES (?)').run(name);
      this.db
        .prepare("INSERT INTO environments (app_id, name, branch) VALUES (?, 'production', 'main')")
        .run(info.lastInsertRowid);
      return this.getApp(name)!;
    })();
    this.onRoutingChange();
    return app;
  }
  getApp(name: string): App | undefined {
    const row = this.db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as Row | undefined;
    return row && toApp(row);
  }
  listApps(): App[] {
    return (this.db.prepare('SELECT * FROM apps ORDER BY name').all() as Row[]).map(toApp);
  }
  deleteApp(id: number): void {
    this.db.prepare('DELETE FROM apps WHERE id = ?').run(id);
    this.onRoutingChange();
  }
  getEnvironment(appName: string, envName: string): Environment | undefined {
    const row = this.db.prepare(`${ENV_SELECT} WHERE a.name = ? AND e.name = ?`).get(appName, envName) as
      | Row
      | undefined;
    return row && toEnvironment(row);
  }
  listEnvironments(appId?: number): Environment[] {
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
    this.onRoutingChange();
    return (this.db.prepare(`${ENV_SELECT} WHERE e.id = ?`).all(info.lastInsertRowid) as Row[]).map(toEnvironment)[0]!;
  }
  /** Its config vars, builds, releases, placements and racks go with it. */
  deleteEnvironment(id: number): void {
    this.db.prepare('DELETE FROM environments WHERE id = ?').run(id);
    this.onRoutingChange();
  }
  setPreviews(appId: number, on: boolean): void {
    this.db.prepare('UPDATE apps SET previews = ? WHERE id = ?').run(on ? 1 : 0, appId);
  }

  // config vars: the desired config of an environment; releases snapshot it
  configVars(environmentId: number): Record<string, string> {
    const rows = this.db
      .prepare('SELECT key, value, sealed FROM config_vars WHERE environment_id = ? ORDER BY key')
      .all(environmentId) as Row[];
    return Object.fromEntries(rows.map((r) => [r.key, r.sealed ? this.sealer().unseal(r.value) : r.value]));
  }
  replaceConfigVars(environmentId: number, vars: Record<string, string>): void {
    const sealer = this.sealer();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM config_vars WHERE environment_id = ?').run(environmentId);
      const insert = this.db.prepare(
        'INSERT INTO config_vars (environment_id, key, value, sealed) VALUES (?, ?, ?, 1)',
      );
      for (const [key, value] of Object.entries(vars)) insert.run(environmentId, key, sealer.seal(value));
    })();
  }

  // builds and their logs
  createBuild(environmentId: number, commit: string | null): Build {
    const info = this.db
      .prepare("INSERT INTO builds (environment_id, commit_sha, status) VALUES (?, ?, 'building')")
      .run(environmentId, commit);
    return this.getBuild(Number(info.lastInsertRowid))!;
  }
  getBuild(id: number): Build | undefined {
    const row = this.db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as Row | undefined;
    return row && toBuild(row);
  }
  /** Newest first; `limit` keeps only that many (SQLite reads no further rows). */
  listBuilds(environmentId: number, limit = -1): Build[] {
    return (
      this.db
        .prepare('SELECT * FROM builds WHERE environment_id = ? ORDER BY id DESC LIMIT ?')
        .all(environmentId, limit) as Row[]
    ).map(toBuild);
  }
  updateBuild(id: number, fields: Partial<Pick<Build, 'buildpack' | 'image'>>): void {
    if (fields.buildpack !== undefined)
      this.db.prepare('UPDATE builds SET buildpack = ? WHERE id = ?').run(fields.buildpack, id);
    if (fields.image !== undefined) this.db.prepare('UPDATE builds SET image = ? WHERE id = ?').run(fields.image, id);
  }
  finishBuild(id: number, status: 'succeeded' | 'failed', error: string | null = null): void {
    this.db
      .prepare(
        "UPDATE builds SET status = ?, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
      )
      .run(status, error, id);
  }
  appendLog(buildId: number, seq: number, line: string): void {
    this.db.prepare('INSERT INTO build_log (build_id, seq, line) VALUES (?, ?, ?)').run(buildId, seq, line);
  }
  buildLog(buildId: number, sinceSeq = 0): LogLine[] {
    return this.db
      .prepare('SELECT seq, line, at FROM build_log WHERE build_id = ? AND seq > ? ORDER BY seq')
      .all(buildId, sinceSeq) as LogLine[];
  }

  // releases
  createRelease(
    r: Pick<Release, 'environmentId' | 'buildId' | 'image' | 'processes' | 'config' | 'manifest' | 'description'>,
  ): Release {
    return this.db.transaction(() => {
      const { next } = this.db
        .prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE environment_id = ?')
        .get(r.environmentId) as Row;
      const info = this.db
        .prepare(
          "INSERT INTO releases (environment_id, version, build_id, image, processes, config, config_sealed, manifest, description, status) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, 'deploying')",
        )
        .run(
          r.environmentId,
          next,
          r.buildId,
          r.image,
          JSON.stringify(r.processes),
          this.sealer().seal(JSON.stringify(r.config)),
          JSON.stringify(r.manifest),
          r.description,
        );
      return this.getReleaseById(Number(info.lastInsertRowid))!;
    })();
  }
  getReleaseById(id: number): Release | undefined {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as Row | undefined;
    return row && this.toRelease(row);
  }
  getRelease(environmentId: number, version: number): Release | undefined {
    const row = this.db
      .prepare('SELECT * FROM releases WHERE environment_id = ? AND version = ?')
      .get(environmentId, version) as Row | undefined;
    return row && this.toRelease(row);
  }
  /** Newest first; `limit` keeps only that many (each release's config is unsealed, so ask for what you show). */
  listReleases(environmentId: number, limit = -1): Release[] {
    return (
      this.db
        .prepare('SELECT * FROM releases WHERE environment_id = ? ORDER BY version DESC LIMIT ?')
        .all(environmentId, limit) as Row[]
    ).map((r) => this.toRelease(r));
  }
  currentRelease(environmentId: number): Release | undefined {
    const row = this.db
      .prepare("SELECT * FROM releases WHERE environment_id = ? AND status = 'succeeded' ORDER BY version DESC LIMIT 1")
      .get(environmentId) as Row | undefined;
    return row && this.toRelease(row);
  }
  finishRelease(id: number, status: 'succeeded' | 'failed', error: string | null = null): void {
    this.db.prepare('UPDATE releases SET status = ?, error = ? WHERE id = ?').run(status, error, id);
  }
  // formation: instances per service, the same in every rack of the environment
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

  // placements: which instances serve an environment in each rack (what the router reads)
  placements(environmentId: number): Placement[] {
    return (
      this.db.prepare('SELECT * FROM placements WHERE environment_id = ? ORDER BY rack').all(environmentId) as Row[]
    ).map(toPlacement);
  }
  allPlacements(): Placement[] {
    return (this.db.prepare('SELECT * FROM placements').all() as Row[]).map(toPlacement);
  }
  setPlacement(p: Placement): void {
    this.db
      .prepare(
        `INSERT INTO placements (environment_id, rack, release_id, instances) VALUES (?, ?, ?, ?)
       ON CONFLICT (environment_id, rack) DO UPDATE SET release_id = excluded.release_id, instances = excluded.instances,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
      )
      .run(p.environmentId, p.rack, p.releaseId, JSON.stringify(p.instances));
    this.onRoutingChange();
  }
  removePlacement(environmentId: number, rack: string): void {
    this.db.prepare('DELETE FROM placements WHERE environment_id = ? AND rack = ?').run(environmentId, rack);
    this.onRoutingChange();
  }

  // repositories and webhook deliveries
  setRepository(r: Repository): void {
    this.db
      .prepare(
        `INSERT INTO repositories (app_id, git_host, clone_url, secret, credentials, branches) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id) DO UPDATE SET git_host = excluded.git_host, clone_url = excluded.clone_url, secret = excluded.secret,
       credentials = excluded.credentials, branches = excluded.branches`,
      )
      .run(r.appId, r.gitHost, r.cloneUrl, r.sealedSecret, r.sealedCredentials, JSON.stringify(r.branches));
  }
  getRepository(appId: number): Repository | undefined {
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
  removeRepository(appId: number): void {
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
  listDeliveries(appId: number): Delivery[] {
    return (
      this.db
        .prepare('SELECT * FROM deliveries WHERE app_id = ? ORDER BY received_at DESC, rowid DESC')
        .all(appId) as Row[]
    ).map((r) => ({
      id: r.id,
      appId: r.app_id,
      gitHost: r.git_host,
      event: r.event,
      ref: r.ref,
      commit: r.commit_sha,
      outcome: r.outcome,
      buildId: r.build_id,
      receivedAt: r.received_at,
    }));
  }

  // cloud providers (settings sealed: they hold credentials) and the racks each environment runs in
  setProvider(name: string, type: string, sealedSettings: string): void {
    this.db
      .prepare(
        'INSERT INTO providers (name, type, sealed_settings) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET type = excluded.type, sealed_settings = excluded.sealed_settings',
      )
      .run(name, type, sealedSettings);
  }
  listProviders(): { name: string; type: string; sealedSettings: string }[] {
    return (this.db.prepare('SELECT * FROM providers ORDER BY name').all() as Row[]).map((r) => ({
      name: r.name,
      type: r.type,
      sealedSettings: r.sealed_settings,
    }));
  }
  removeProvider(name: string): boolean {
    return this.db.prepare('DELETE FROM providers WHERE name = ?').run(name).changes === 1;
  }
  setEnvironmentRacks(environmentId: number, racks: unknown[], rollout: 'sequential' | 'parallel'): void {
    this.db
      .prepare(
        'INSERT INTO environment_racks (environment_id, racks, rollout) VALUES (?, ?, ?) ON CONFLICT (environment_id) DO UPDATE SET racks = excluded.racks, rollout = excluded.rollout',
      )
      .run(environmentId, JSON.stringify(racks), rollout);
  }
  environmentRacks(environmentId: number): { racks: unknown[]; rollout: 'sequential' | 'parallel' } | undefined {
    const r = this.db.prepare('SELECT * FROM environment_racks WHERE environment_id = ?').get(environmentId) as
      | Row
      | undefined;
    return r && { racks: JSON.parse(r.racks), rollout: r.rollout };
  }
  environmentsUsingProvider(name: string): number {
    return (this.db.prepare('SELECT racks FROM environment_racks').all() as Row[]).filter((r) =>
      JSON.parse(r.racks).some((x: { provider?: string }) => x.provider === name),
    ).length;
  }

  /** After a crash: whatever was in flight was cut off and can never finish. */
  failInterrupted(reason: string): { builds: number; releases: number } {
    const builds = this.db
      .prepare(
        "UPDATE builds SET status = 'failed', error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE status = 'building'",
      )
      .run(reason).changes;
    const releases = this.db
      .prepare("UPDATE releases SET status = 'failed', error = ? WHERE status = 'deploying'")
      .run(reason).changes;
    this.db
      .prepare("UPDATE deliveries SET outcome = ? WHERE outcome IN ('queued', 'deploying')")
      .run(`failed: ${reason}`);
    return { builds, releases };
  }
}
