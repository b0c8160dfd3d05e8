import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretBox } from '../../../../server/secrets.ts';
import { Store } from '../../../../server/store/index.ts';
import { migrations } from '../../../../server/store/migrations.ts';

const CANARY = 'plaintext-canary-4f1c';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Every byte SQLite keeps for this database: the file, its WAL and shared memory. */
const rawBytes = (file: string) =>
  Buffer.concat(['', '-wal', '-shm'].filter((s) => fs.existsSync(file + s)).map((s) => fs.readFileSync(file + s)));

describe('config vars sealed at rest', () => {
  it('seals the plaintext rows of a database made before sealing, and new values never reach the files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-seal-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    // a data directory as the release before sealing left it (the schema before that migration, plaintext values)
    const beforeSealing = migrations.findIndex((sql) => sql.includes('config_sealed'));
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    for (const sql of migrations.slice(0, beforeSealing)) old.exec(sql);
    old.pragma(`user_version = ${beforeSealing}`);
    old.exec(
      "INSERT INTO apps (id, name) VALUES (1, 'shop'); INSERT INTO environments (id, app_id, name, branch) VALUES (1, 1, 'production', 'main')",
    );
    old.prepare('INSERT INTO config_vars VALUES (1, ?, ?)').run('TOKEN', CANARY);
    old
      .prepare(
        "INSERT INTO releases (environment_id, version, image, processes, config, description, status) VALUES (1, 1, 'i', '{}', ?, 'd', 'succeeded')",
      )
      .run(JSON.stringify({ TOKEN: CANARY }));
    old.close();
    expect(rawBytes(file).includes(CANARY)).toBe(true);

    const store = new Store(file, { secrets: SecretBox.open(dir, undefined) });
    expect(store.config.get(1)).toEqual({ TOKEN: CANARY });
    expect(store.releases.current(1)?.config).toEqual({ TOKEN: CANARY });
    store.config.replace(1, { TOKEN: CANARY, OTHER: `${CANARY}-2` });
    store.releases.create({
      environmentId: 1,
      buildId: null,
      image: 'i',
      processes: {},
      manifest: {},
      config: { T: CANARY },
      description: 'd',
    });
    expect(rawBytes(file).includes(CANARY)).toBe(false);
    store.close();
    expect(rawBytes(file).includes(CANARY)).toBe(false);
  });
});
