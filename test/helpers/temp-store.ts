import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { SecretBox } from '../../server/secrets.ts';
import { Store } from '../../server/store/index.ts';

/** A fresh SQLite store in a temporary directory for each test; `reopen` simulates a restart. */
export function useTempStore(): { store: () => Store; reopen: () => Store } {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-unit-'));
    store = new Store(path.join(dir, 'db.sqlite'), { secrets: SecretBox.open(dir, undefined) });
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    store: () => store,
    reopen: () => {
      store.close();
      store = new Store(path.join(dir, 'db.sqlite'), { secrets: SecretBox.open(dir, undefined) });
      return store;
    },
  };
}
