import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const head = (dir: string) => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();

/** A copy of a work tree with one more commit whose page says `marker`. */
function branchOff(dir: string, marker: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), `widemesh-${marker}-`));
  fs.cpSync(dir, copy, { recursive: true });
  fs.writeFileSync(path.join(copy, 'index.html'), marker);
  commitAll(copy, marker);
  return copy;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('hardening: what an adversarial pass found', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ WIDEMESH_BUILD_TIMEOUT: '20' });
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  const branchOnServer = (app: string) =>
    execFileSync('git', ['ls-remote', remoteUrl(server, app), 'refs/heads/main'], { encoding: 'utf8' }).split('\t')[0];

  it('two racing pushes: the one git accepts is the one serving and the branch', async () => {
    const base = appRepo('static-site');
    fs.writeFileSync(path.join(base, 'index.html'), 'base');
    commitAll(base, 'base');
    expect((await push(base, remoteUrl(server, 'race'))).code).toBe(0);
    const a = branchOff(base, 'A');
    const b = branchOff(base, 'B');
    const first = push(a, remoteUrl(server, 'race'));
    await sleep(300);
    const second = push(b, remoteUrl(server, 'race'));
    const results = [
      { ...(await first), dir: a },
      { ...(await second), dir: b },
    ];
    const accepted = results.filter((r) => r.code === 0);
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!;
    expect(results.some((r) => r.output.includes('Waiting: another deploy of race is in progress'))).toBe(true);
    expect(results.find((r) => r !== winner)!.output).toContain('another push moved main');
    expect(branchOnServer('race')).toBe(head(winner.dir));
    expect((await viaRouter(server, 'race.localhost')).body).toBe(
      fs.readFileSync(path.join(winner.dir, 'index.html'), 'utf8'),
    );
  });

  it('a push whose ref update fails after its release went live is rolled back', async () => {
    const base = appRepo('static-site');
    fs.writeFileSync(path.join(base, 'index.html'), 'one');
    commitAll(base, 'one');
    expect((await push(base, remoteUrl(server, 'locked'))).code).toBe(0);
    const next = branchOff(base, 'two');
    // another git process holding the branch's lock makes git's ref update fail after pre-receive
    const lock = path.join(server.dataDir, 'repos', 'locked.git', 'refs', 'heads', 'main.lock');
    fs.writeFileSync(lock, '');
    const result = await push(next, remoteUrl(server, 'locked'));
    fs.rmSync(lock);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('failed to update ref');
    const releases = await until('the rollback release', async () => {
      const list = (await api(server, 'GET', '/api/apps/locked/releases')).json as {
        status: string;
        description: string;
      }[];
      return list[0]?.status === 'succeeded' && list.length === 3 ? list : undefined;
    });
    expect(releases.map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(releases[0]!.description).toMatch(/^Rollback to v1/);
    expect(branchOnServer('locked')).toBe(head(base));
    expect((await viaRouter(server, 'locked.localhost')).body).toBe('one');
  });
});
