import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { AppStore, type Environment } from './apps.ts';
import { BuildStore } from './builds.ts';
import { ConfigStore } from './config.ts';
import { EdgeStore } from './edge.ts';
import { migrations } from './migrations.ts';
import { PlacementStore } from './placements.ts';
import { RackStore } from './racks.ts';
import { type Release, ReleaseStore } from './releases.ts';
import { RepositoryStore } from './repositories.ts';
import { RoutingEvents, type Row, type Sealer } from './rows.ts';
import { TokenStore } from './tokens.ts';

export type { App, Environment } from './apps.ts';
export type { Build, BuildStatus, LogLine } from './builds.ts';
export type { Instance, Placement } from './placements.ts';
export type { NewRelease, Release, ReleaseManifest, ReleaseStatus } from './releases.ts';
export type { Delivery, Repository } from './repositories.ts';
export type { Sealer } from './rows.ts';
export { hashToken } from './tokens.ts';

/** What one deploy operation reads once and passes along, instead of each step reading (and unsealing) again. */
export interface DeployContext {
  environment: Environment;
  /** The release serving the environment, or undefined before its first deploy. */
  current: Release | undefined;
  /** The environment's config vars, unsealed once. */
  config: Record<string, string>;
}

/**
 * The server's only persistent state, one table group (aggregate) per field. Synchronous
 * (better-sqlite3) and small; the router process opens the same file read-only.
 */
export class Store {
  readonly db: Database.Database;
  /** Emits after anything the edge routes by changed; main.ts wires it to the edge. */
  readonly routing = new RoutingEvents();
  readonly tokens: TokenStore;
  readonly apps: AppStore;
  readonly config: ConfigStore;
  readonly builds: BuildStore;
  readonly releases: ReleaseStore;
  readonly placements: PlacementStore;
  readonly repositories: RepositoryStore;
  readonly racks: RackStore;
  readonly edge: EdgeStore;
  private readonly secrets: Sealer | undefined;

  /** Config var values and release config snapshots are sealed with `secrets` (needed to read or write them). */
  constructor(file: string, options: { readonly?: boolean; secrets?: Sealer } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.secrets = options.secrets;
    const sealer = () => this.sealer();
    this.tokens = new TokenStore(this.db);
    this.apps = new AppStore(this.db, this.routing);
    this.config = new ConfigStore(this.db, sealer);
    this.builds = new BuildStore(this.db);
    this.releases = new ReleaseStore(this.db, sealer);
    this.placements = new PlacementStore(this.db, this.routing);
    this.repositories = new RepositoryStore(this.db);
    this.racks = new RackStore(this.db);
    this.edge = new EdgeStore(this.db, this.routing);
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) this.prepareForWrites();
  }

  /** An environment's live release and config, read (and unsealed) once for one operation. */
  deployContext(environment: Environment): DeployContext {
    const { id } = environment;
    return { environment, current: this.releases.current(id), config: this.config.get(id) };
  }

  /** Random id of this data directory: it labels the containers and images this server owns. */
  installationId(): string {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'installation'").get() as Row | undefined;
    if (row) return row.value;
    const id = crypto.randomBytes(4).toString('hex');
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('installation', ?)").run(id);
    return id;
  }

  /** After a crash: whatever was in flight was cut off and can never finish. */
  failInterrupted(reason: string): { builds: number; releases: number } {
    const builds = this.builds.failRunning(reason);
    const releases = this.releases.failDeploying(reason);
    this.repositories.failUnfinishedDeliveries(reason);
    return { builds, releases };
  }

  close(): void {
    this.db.close();
  }

  private prepareForWrites(): void {
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    // deleted or rewritten rows are zeroed, so a value sealed in place leaves no plaintext copy behind
    this.db.pragma('secure_delete = ON');
    this.migrate();
    if (this.secrets) this.sealPlaintextConfig();
  }

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

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    migrations.slice(current).forEach((sql, i) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${current + i + 1}`);
      })();
    });
  }
}
