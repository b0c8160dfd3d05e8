/**
 * Schema versions, applied in order inside one transaction each. Never edit a shipped
 * migration: add a new one, so existing data directories upgrade in place.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE apps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    branch TEXT,
    UNIQUE (app_id, name)
  );
  CREATE TABLE config_vars (
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (environment_id, key)
  );
  CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    commit_sha TEXT,
    status TEXT NOT NULL CHECK (status IN ('building','succeeded','failed')),
    buildpack TEXT,
    image TEXT,
    error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    finished_at TEXT
  );
  CREATE TABLE build_log (
    build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    line TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (build_id, seq)
  );
  CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    build_id INTEGER REFERENCES builds(id) ON DELETE SET NULL,
    image TEXT NOT NULL,
    processes TEXT NOT NULL,
    config TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('deploying','succeeded','failed')),
    error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (environment_id, version)
  );
  CREATE TABLE placements (
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    rack TEXT NOT NULL,
    release_id INTEGER NOT NULL REFERENCES releases(id),
    instances TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (environment_id, rack)
  );
  `,
  `
  CREATE TABLE repositories (
    app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    provider TEXT NOT NULL CHECK (provider IN ('github', 'bitbucket')),
    clone_url TEXT NOT NULL,
    secret TEXT NOT NULL,
    credentials TEXT,
    branches TEXT NOT NULL
  );
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    event TEXT NOT NULL,
    ref TEXT,
    commit_sha TEXT,
    outcome TEXT NOT NULL,
    build_id INTEGER,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  `,
  `
  CREATE TABLE providers (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL CHECK (type IN ('gcp', 'aws')),
    sealed_settings TEXT NOT NULL
  );
  CREATE TABLE environment_racks (
    environment_id INTEGER PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
    racks TEXT NOT NULL,
    rollout TEXT NOT NULL CHECK (rollout IN ('sequential', 'parallel'))
  );
  `,
  // GitHub and Bitbucket are git hosts; "provider" means cloud credentials
  `
  ALTER TABLE repositories RENAME COLUMN provider TO git_host;
  ALTER TABLE deliveries RENAME COLUMN provider TO git_host;
  `,
  // services: how many instances each process type runs (the same in every rack), and what
  // app.json said about running a release (health checks, scripts)
  `
  CREATE TABLE formation (
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (environment_id, service)
  );
  ALTER TABLE releases ADD COLUMN manifest TEXT NOT NULL DEFAULT '{}';
  `,
  // previews: opt-in per app; a preview environment is made for a branch or pull request and deleted with it
  `
  ALTER TABLE apps ADD COLUMN previews INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE environments ADD COLUMN preview INTEGER NOT NULL DEFAULT 0;
  `,
  // a replayed webhook body (same signed bytes, new delivery id) is recognised by its hash
  `
  ALTER TABLE deliveries ADD COLUMN body_sha256 TEXT;
  CREATE UNIQUE INDEX deliveries_by_body ON deliveries (app_id, body_sha256);
  `,
  // config var values and release config snapshots are sealed at rest; the store seals rows still at 0 when it opens
  `
  ALTER TABLE config_vars ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE releases ADD COLUMN config_sealed INTEGER NOT NULL DEFAULT 0;
  `,
  `
  CREATE TABLE edge_settings (
    environment_id INTEGER PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
    maintenance INTEGER NOT NULL DEFAULT 0,
    https_redirect INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    cert_pem TEXT,
    sealed_key TEXT,
    cert_source TEXT CHECK (cert_source IN ('user', 'acme')),
    not_after TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  `,
  // dashboard sign-ins: the cookie's hash, bound to the API token it was made from (revoking the token ends them)
  `
  CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  `,
  // each release's phases, timed: the build that made it, its release phase, its rollout in each rack
  `
  CREATE TABLE deploy_steps (
    id INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    phase TEXT NOT NULL CHECK (phase IN ('build', 'release-phase', 'rollout')),
    rack TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok INTEGER
  );
  CREATE INDEX deploy_steps_by_release ON deploy_steps (release_id);
  `,
  // what a release's release phase printed (config values masked), for releases:output
  `
  CREATE TABLE release_output (
    release_id INTEGER PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
    lines TEXT NOT NULL
  );
  `,
];
