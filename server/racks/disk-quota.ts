import crypto from 'node:crypto';
import type Docker from 'dockerode';
import { errorMessage } from '../errors.ts';

const MIB = 1024 * 1024;

/**
 * How much an instance may write to its own file system (WIDEMESH_INSTANCE_DISK_MB), as the
 * Docker engine can enforce it: a size quota on the container's writable layer (HostConfig.StorageOpt).
 */
export interface DiskQuota {
  readonly enforced: boolean;
  /** One line for the operator: the bound, or why there is none. */
  readonly note: string;
  /** StorageOpt for a container of `image`; undefined when the engine cannot enforce a size. */
  storageOpt(image: string): Promise<Record<string, string> | undefined>;
}

/**
 * overlay2 (on xfs mounted with pquota) bounds only the container's own layer; the other drivers
 * that take a size (btrfs, zfs, devicemapper) bound the whole root file system, image included,
 * so the image's size is added there: either way an instance may write `limitMb` MiB.
 */
export function quotaBytes(limitMb: number, driver: string, imageBytes: number): number {
  return limitMb * MIB + (driver === 'overlay2' ? 0 : imageBytes);
}

class EnforcedQuota implements DiskQuota {
  readonly enforced = true;
  readonly note: string;

  constructor(
    private readonly docker: Docker,
    private readonly limitMb: number,
    private readonly driver: string,
  ) {
    this.note = `an instance may write at most ${limitMb} MiB (WIDEMESH_INSTANCE_DISK_MB; ${driver} quota)`;
  }

  async storageOpt(image: string): Promise<Record<string, string>> {
    const imageBytes = this.driver === 'overlay2' ? 0 : (await this.docker.getImage(image).inspect()).Size;
    return { size: String(quotaBytes(this.limitMb, this.driver, imageBytes)) };
  }
}

/** Docker's own words (dockerode prefixes them with the HTTP status). */
const dockerMessage = (err: unknown) =>
  ((err as { json?: { message?: string } }).json?.message ?? errorMessage(err)).trim();

const unbounded = (note: string): DiskQuota => ({ enforced: false, note, storageOpt: async () => undefined });

/** The storage driver and, where Docker names it, the file system under it (e.g. "overlay2 on extfs"). */
async function storageOf(docker: Docker): Promise<{ driver: string; description: string }> {
  const info = (await docker.info()) as { Driver: string; DriverStatus?: [string, string][] };
  const backing = info.DriverStatus?.find(([key]) => key === 'Backing Filesystem')?.[1];
  return { driver: info.Driver, description: backing ? `${info.Driver} on ${backing}` : info.Driver };
}

/**
 * Finds out once, at start-up, whether the engine enforces a size: it creates (never starts) a
 * container of `probeImage` with the quota and removes it. Docker refuses the option where it
 * cannot honour it (overlay2 on anything but xfs with pquota), so nothing is silently ignored.
 */
export async function probeDiskQuota(docker: Docker, limitMb: number, probeImage: string): Promise<DiskQuota> {
  if (limitMb === 0) return unbounded('instance disk is not bounded (WIDEMESH_INSTANCE_DISK_MB=0)');
  const { driver, description } = await storageOf(docker);
  const quota = new EnforcedQuota(docker, limitMb, driver);
  try {
    const container = await docker.createContainer({
      name: `wm-disk-probe-${crypto.randomBytes(4).toString('hex')}`,
      Image: probeImage,
      HostConfig: { NetworkMode: 'none', StorageOpt: await quota.storageOpt(probeImage) },
    });
    await container.remove({ force: true });
    return quota;
  } catch (err) {
    return unbounded(
      `instance disk is NOT bounded: this Docker engine (${description}) cannot enforce ` +
        `WIDEMESH_INSTANCE_DISK_MB=${limitMb} (Docker: ${dockerMessage(err)}); see "Disk" in the README`,
    );
  }
}
