import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeDiskQuota } from '../../server/racks/disk-quota.ts';
import { RELAY_IMAGE } from '../../server/racks/instance-network.ts';
import { appRepo, push, remoteUrl } from '../helpers/git.ts';
import { type QuotaEngine, startQuotaEngine } from '../helpers/quota-engine.ts';
import { api, docker, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const LIMIT_MB = 64;
/** What a write over a quota fails with: ENOSPC (overlay2 on xfs project quotas) or EDQUOT (btrfs qgroups). */
const OUT_OF_SPACE = [-os.constants.errno.ENOSPC, -os.constants.errno.EDQUOT];

/**
 * An instance's writable layer is bounded (WIDEMESH_INSTANCE_DISK_MB): a server on an engine of the
 * test's own whose data root is a btrfs loop file (as scripts/up sets up on a fresh machine).
 */
describe('instance disk quota', () => {
  let engine: QuotaEngine;
  let server: TestServer;

  beforeAll(async () => {
    engine = await startQuotaEngine(`wm-dq-${process.pid}`, 4, ['widemesh/stack-node:20', RELAY_IMAGE]);
    server = await startServer({ DOCKER_HOST: engine.host, WIDEMESH_INSTANCE_DISK_MB: String(LIMIT_MB) });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    await engine?.close();
  }, 120_000);

  it('lets an app write under the quota, fails a write past it, and keeps what it holds bounded', async () => {
    expect(server.output()).toContain(`disk:        an instance may write at most ${LIMIT_MB} MiB`);
    const result = await push(appRepo('disk-writer'), remoteUrl(server, 'disk'));
    expect(result.code, result.output).toBe(0);
    const write = async (file: string, mb: number) =>
      JSON.parse((await viaRouter(server, 'disk.localhost', `/write?file=${file}&mb=${mb}`, 60_000)).body);

    expect(await write('small', 16)).toEqual({ written: 16 * MIB, errno: null });
    const over = await write('big', 4 * LIMIT_MB);
    expect(OUT_OF_SPACE).toContain(over.errno);
    expect(over.written).toBeLessThan(LIMIT_MB * MIB);
    // the earlier file is intact, everything the instance holds stays under the bound, and it still serves
    const { used } = JSON.parse((await viaRouter(server, 'disk.localhost', '/usage')).body);
    expect(used).toBeGreaterThanOrEqual(16 * MIB);
    expect(used).toBeLessThanOrEqual(LIMIT_MB * MIB);
    expect((await write('again', 8)).errno).not.toBeNull();

    // a one-off process is bounded as an instance is: dd reports the failed write in the system's words
    const oneOff = await request(`${server.apiUrl}/api/apps/disk/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: `dd if=/dev/zero of=/app/big bs=1M count=${4 * LIMIT_MB}` }),
      timeoutMs: 120_000,
    });
    const messages = oneOff.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(messages.at(-1).exit).not.toBe(0);
    expect(messages.map((m) => m.line).join('\n')).toMatch(/Disk quota exceeded|No space left on device/);

    const racks = await api(server, 'GET', '/api/apps/disk/racks');
    expect(racks.json.instanceDisk).toBe(
      `an instance may write at most ${LIMIT_MB} MiB (WIDEMESH_INSTANCE_DISK_MB; btrfs quota)`,
    );
  });

  it("says the shared engine (overlay2 on this machine's ext4) cannot bound an instance's disk", async () => {
    const quota = await probeDiskQuota(docker, LIMIT_MB, RELAY_IMAGE);
    expect(quota.enforced).toBe(false);
    expect(quota.note).toMatch(
      /^instance disk is NOT bounded: this Docker engine \(overlay2 on extfs\) cannot enforce/,
    );
    expect(await quota.storageOpt(RELAY_IMAGE)).toBeUndefined();
  });

  it('scripts/lib/docker-disk.sh makes the btrfs file once, with quotas on, and only mounts it again later', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wm-dq-script-'));
    const [file, mountDir] = [path.join(dir, 'docker.img'), path.join(dir, 'mnt')];
    const script = () => run('bash', ['scripts/lib/docker-disk.sh', file, mountDir, '1']);
    const mounts = () =>
      fs
        .readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .filter((l) => l.includes(mountDir));
    try {
      await script();
      expect(mounts()).toEqual([expect.stringContaining(' btrfs ')]);
      expect(fs.statSync(file).blocks * 512).toBeLessThan(fs.statSync(file).size / 4); // sparse
      expect((await run('btrfs', ['qgroup', 'show', mountDir])).stdout).toContain('0/5');
      fs.writeFileSync(path.join(mountDir, 'kept'), 'data');
      await script(); // mounted: nothing to do
      expect(mounts()).toHaveLength(1);
      await run('umount', [mountDir]);
      await script(); // after a reboot: the same file system again, not a new one
      expect(fs.readFileSync(path.join(mountDir, 'kept'), 'utf8')).toBe('data');
    } finally {
      await run('umount', [mountDir]).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
