import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { probeDiskQuota, quotaBytes } from '../../../../server/racks/disk-quota.ts';

const MIB = 1024 * 1024;

/** The engine calls the probe makes: info, an image's size, create and remove; `refuse` fails the create as Docker does. */
function fakeEngine(driver: string, backing: string | undefined, refuse?: string) {
  const created: { StorageOpt?: Record<string, string> }[] = [];
  let removed = 0;
  const docker = {
    info: async () => ({ Driver: driver, DriverStatus: backing ? [['Backing Filesystem', backing]] : [] }),
    getImage: () => ({ inspect: async () => ({ Size: 100 * MIB }) }),
    createContainer: async (options: { HostConfig: { StorageOpt?: Record<string, string> } }) => {
      if (refuse) throw Object.assign(new Error('(HTTP code 500) server error'), { json: { message: `${refuse} ` } });
      created.push(options.HostConfig);
      return { remove: async () => void removed++ };
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

  it('is enforced when the engine takes a size, and gives every container of an image the same bound', async () => {
    const engine = fakeEngine('btrfs', undefined);
    const quota = await probeDiskQuota(engine.docker, 64, 'widemesh/relay');
    expect(quota.enforced).toBe(true);
    expect(quota.note).toBe('an instance may write at most 64 MiB (WIDEMESH_INSTANCE_DISK_MB; btrfs quota)');
    expect(engine.created).toEqual([expect.objectContaining({ StorageOpt: { size: String(164 * MIB) } })]);
    expect(engine.removed()).toBe(1);
    expect(await quota.storageOpt('app-image')).toEqual({ size: String(164 * MIB) });
  });

  it("says so, with Docker's reason, when the engine cannot bound a size, and then asks for none", async () => {
    const refusal = "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";
    const quota = await probeDiskQuota(fakeEngine('overlay2', 'extfs', refusal).docker, 64, 'widemesh/relay');
    expect(quota.enforced).toBe(false);
    expect(quota.note).toBe(
      `instance disk is NOT bounded: this Docker engine (overlay2 on extfs) cannot enforce WIDEMESH_INSTANCE_DISK_MB=64 (Docker: ${refusal}); see "Disk" in the README`,
    );
    expect(await quota.storageOpt('app-image')).toBeUndefined();
  });

  it('asks the engine nothing when the operator turned the bound off', async () => {
    const engine = fakeEngine('overlay2', 'xfs');
    const quota = await probeDiskQuota(engine.docker, 0, 'widemesh/relay');
    expect(quota).toMatchObject({
      enforced: false,
      note: 'instance disk is not bounded (WIDEMESH_INSTANCE_DISK_MB=0)',
    });
    expect(engine.created).toEqual([]);
  });
});
