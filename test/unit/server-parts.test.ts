import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Source } from '../../server/build/source.ts';
import { ConfigError, readConfig } from '../../server/config.ts';
import { parseGitUrl } from '../../server/git/index.ts';
import { AppLocks } from '../../server/locks.ts';
import { LogBus } from '../../server/logs/index.ts';
import { assertAppName } from '../../server/names.ts';
import { type LogLine, Store } from '../../server/store/index.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-unit-'));
  store = new Store(path.join(dir, 'db.sqlite'));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('config', () => {
  it('has embedded defaults and validates what it reads', () => {
    const config = readConfig({ HOME: '/home/x' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      apiPort: 7070,
      routerPort: 7080,
      domain: 'localhost',
      racks: [
        { kind: 'local', name: 'local-a' },
        { kind: 'local', name: 'local-b' },
      ],
    });
    expect(config.dataDir).toBe(path.resolve(os.homedir(), '.widemesh'));
    expect(readConfig({ WIDEMESH_PORT: '9000', WIDEMESH_HEALTHCHECK_TIMEOUT: '5' })).toMatchObject({
      apiPort: 9000,
      healthcheckTimeoutMs: 5000,
    });
    expect(() => readConfig({ WIDEMESH_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => readConfig({ WIDEMESH_RACKS: 'local-a' })).toThrow(/at least two racks/);
    const file = path.join(dir, 'racks.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        providers: { g: { type: 'gcp', project: 'p', registry: 'r', credentials: 'none' } },
        racks: [
          { kind: 'cloud-run', provider: 'g', location: 'europe-west1' },
          { kind: 'local', name: 'local-a' },
        ],
      }),
    );
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/credentials \(a service account key/);
    fs.writeFileSync(
      file,
      JSON.stringify({ providers: {}, racks: [{ kind: 'app-runner', provider: 'nope', region: 'us-east-1' }] }),
    );
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/not among the providers/);
    expect(() => readConfig({ WIDEMESH_DOMAIN: 'bad domain' })).toThrow(/not a valid domain/);
  });
});

describe('names and git URLs', () => {
  it('accepts DNS-safe app names only', () => {
    expect(assertAppName('my-app2')).toBe('my-app2');
    for (const bad of ['My', '1app', 'a', 'a--b', 'a-', '../x', 'a/b', 'a'.repeat(31), 42])
      expect(() => assertAppName(bad)).toThrow(/app name/);
  });
  it('parses smart HTTP git URLs and tells pushes from fetches', () => {
    expect(parseGitUrl('/shop.git/info/refs?service=git-receive-pack')).toEqual({
      app: 'shop',
      service: 'info',
      wantsPush: true,
    });
    expect(parseGitUrl('/shop.git/info/refs?service=git-upload-pack')).toEqual({
      app: 'shop',
      service: 'info',
      wantsPush: false,
    });
    expect(parseGitUrl('/shop.git/git-receive-pack')).toMatchObject({ service: 'receive-pack', wantsPush: true });
    expect(parseGitUrl('/api/apps')).toBeUndefined();
    expect(parseGitUrl('/../x.git/info/refs')).toBeUndefined();
    expect(parseGitUrl('/Shop.git/info/refs')).toBeUndefined();
  });
});

describe('store', () => {
  it('migrates, numbers releases per environment and hashes tokens', () => {
    const token = store.createToken('admin');
    expect(store.isValidToken(token)).toBe(true);
    expect(store.isValidToken(`${token}x`)).toBe(false);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM tokens').all())).not.toContain(token);
    store.createApp('shop');
    const env = store.getEnvironment('shop', 'production')!;
    const draft = {
      environmentId: env.id,
      buildId: null,
      image: 'img:1',
      processes: {},
      config: { A: 'b' },
      description: 'd',
    };
    expect(store.createRelease(draft).version).toBe(1);
    expect(store.createRelease(draft).version).toBe(2);
    expect(store.currentRelease(env.id)).toBeUndefined();
    store.finishRelease(1, 'succeeded');
    expect(store.currentRelease(env.id)?.config).toEqual({ A: 'b' });
    expect(store.failInterrupted('cut off')).toEqual({ builds: 0, releases: 1 });
    // reopening applies no migration twice
    store.close();
    store = new Store(path.join(dir, 'db.sqlite'));
    expect(store.listReleases(env.id)).toHaveLength(2);
  });
});

describe('log bus', () => {
  it('persists seq-numbered lines, hides secrets, and lets a late follower replay then follow without gaps', () => {
    store.createApp('shop');
    const build = store.createBuild(store.getEnvironment('shop', 'production')!.id, 'abc');
    const bus = new LogBus(store);
    const log = bus.open(build.id, ['s3cr3t-value']);
    log.step('Building');
    log.info('token is s3cr3t-value\nsecond line');
    const seen: LogLine[] = [];
    let result: unknown;
    const stop = bus.follow(
      build.id,
      1,
      (l) => seen.push(l),
      (r) => (result = r),
    );
    log.error('boom');
    log.end({ ok: false, message: 'boom' });
    stop();
    expect(store.buildLog(build.id).map((l) => l.line)).toEqual([
      '-----> Building',
      '       token is [redacted]',
      '       second line',
      ' !     boom',
    ]);
    expect(seen.map((l) => l.seq)).toEqual([2, 3, 4]);
    expect(result).toEqual({ ok: false, message: 'boom' });
  });
});

describe('app locks', () => {
  it('runs one task per key at a time, in arrival order, telling later ones they wait', async () => {
    const locks = new AppLocks();
    const order: string[] = [];
    let waited = 0;
    const task = (name: string, ms: number) => async () => {
      order.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}:end`);
    };
    await Promise.all([
      locks.run('shop', () => waited++, task('a', 30)),
      locks.run('shop', () => waited++, task('b', 1)),
      locks.run('other', () => waited++, task('c', 1)),
    ]);
    expect(order.indexOf('a:end')).toBeLessThan(order.indexOf('b:start'));
    expect(order.indexOf('c:end')).toBeLessThan(order.indexOf('a:end'));
    expect(waited).toBe(1);
  });
});

describe('source archives', () => {
  const archive = (entries: Record<string, string>) => {
    const pack = tar.pack();
    for (const [name, text] of Object.entries(entries)) pack.entry({ name }, text);
    pack.finalize();
    return Readable.from(pack as unknown as AsyncIterable<Buffer>);
  };
  it('reads files and refuses paths that leave the tree or sources that are too big', async () => {
    const source = await Source.fromTar(archive({ 'package.json': '{}', './src/a.js': 'x' }), 1024);
    expect(source.list().sort()).toEqual(['package.json', 'src/a.js']);
    expect(source.readText('package.json')).toBe('{}');
    await expect(Source.fromTar(archive({ '../evil': 'x' }), 1024)).rejects.toThrow(/unsafe path/);
    await expect(Source.fromTar(archive({ big: 'x'.repeat(2000) }), 1024)).rejects.toThrow(/larger than/);
  });
});
