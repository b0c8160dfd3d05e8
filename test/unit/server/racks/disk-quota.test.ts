import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { probeDiskQuota, quotaBytes } from '../../../../server/racks/disk-quota.ts';

const MIB = 1024 * 1024;

/**
 * The engine calls the probe makes: info, an image's size, a container's create, start, wait and
 * remove. `refuse` fails the create as Docker does; `ddExit` is how the probe's write past its quota ended.
 */
function fakeEngine(driver: string, backing: string | undefined, behaviour: { refuse?: string; ddExit?: number }) {
  const created: { Entrypoint: string[]; HostConfig: { StorageOpt?: Record<string, string> } }[] = [];
  let removed = 0;
  const docker = {
    info: async () => ({ Driver: driver, DriverStatus: backing ? [['Backing Filesystem', backing]] : [] }),
    getImage: () => ({ inspect: async () => ({ Size: 100 * MIB }) }),
    createContainer: async (options: (typeof created)[number]) => {
      if (behaviour.refuse)
        throw Object.assign(new Error('(HTTP code 500) server error'), { json: { message: `${behaviour.refuse} ` } });
      created.push(options);
      return {
        start: async () => {},
        wait: async () => ({ StatusCode: behaviour.ddExit }),
        remove: async () => void removed++,
      };
    },
  } as unknown as Docker;
  return { docker, created, removed: () => removed };
}

describe('instance disk quota', () => {
  it('bounds only the writable layer on overlay2, the whole root file system (image added) elsewhere', () => {
    expect(quotaBytes(64, 'overlay2', 100 * MIB)).toBe(64 * MIB);
    expect(quotaBytes(64, 'btrfs', 100 * MIB)).toBe(164 * MIB);
    expect(quotaBytes(64, 'zfs', 100 * MIB)).toBe(164 * MIB);
  });

  it('is enforced when a write past a small quota fails, and then bounds every container of an image', async () => {
    const engine = fakeEngine('btrfs', undefined, { ddExit: 1 });
    const quota = await probeDiskQuota(engine.docker, 64, 'widemesh/relay');
    expect(quota.enforced).toBe(true);
    expect(quota.note).toBe('an instance may write at most 64 MiB (WIDEMESH_INSTANCE_DISK_MB; btrfs quota)');
    // the probe: 32 MiB over the image, and dd writes 64
    expect(engine.created).toEqual([
      expect.objectContaining({
        Entrypoint: ['dd', 'if=/dev/zero', 'of=/wm-disk-probe', 'bs=1M', 'count=64'],
        HostConfig: expect.objectContaining({ StorageOpt: { size: String(132 * MIB) } }),
      }),
    ]);
    expect(engine.removed()).toBe(1);
    expect(await quota.storageOpt('app-image')).toEqual({ size: String(164 * MIB) });
  });

  it("says so, with Docker's reason, when the engine refuses a size, and then asks for none", async () => {
    const refuse = "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";
    const quota = await probeDiskQuota(fakeEngine('overlay2', 'extfs', { refuse }).docker, 64, 'widemesh/relay');
    expect(quota.enforced).toBe(false);
    expect(quota.note).toBe(
      `instance disk is NOT bounded: this Docker engine (overlay2 on extfs) cannot enforce WIDEMESH_INSTANCE_DISK_MB=64 (Docker: ${refuse}); see "Disk" in the README`,
    );
    expect(await quota.storageOpt('app-image')).toBeUndefined();
  });

  it('says so when the engine takes a size but the write past it goes through', async () => {
    const engine = fakeEngine('btrfs', undefined, { ddExit: 0 });
    const quota = await probeDiskQuota(engine.docker, 64, 'widemesh/relay');
    expect(quota.enforced).toBe(false);
    expect(quota.note).toContain('(a container wrote 64 MiB under a 32 MiB quota)');
    expect(engine.removed()).toBe(1);
  });

  it('asks the engine nothing when the operator turned the bound off', async () => {
    const engine = fakeEngine('overlay2', 'xfs', {});
    const quota = await probeDiskQuota(engine.docker, 0, 'widemesh/relay');
    expect(quota).toMatchObject({
      enforced: false,
      note: 'instance disk is not bounded (WIDEMESH_INSTANCE_DISK_MB=0)',
    });
    expect(engine.created).toEqual([]);
  });
});
