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

  storageOpt(image: string, limitMb = this.limitMb): Promise<Record<string, string>> {
    return sizeOpt(this.docker, this.driver, image, limitMb);
  }
}

async function sizeOpt(docker: Docker, driver: string, image: string, limitMb: number) {
  const imageBytes = driver === 'overlay2' ? 0 : (await docker.getImage(image).inspect()).Size;
  return { size: String(quotaBytes(limitMb, driver, imageBytes)) };
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

/** What the probe container may write, and writes twice over. */
const PROBE_MB = 32;

/**
 * Finds out once, at start-up, whether the engine enforces a size, by trying it: a container of
 * `probeImage` with a small quota writes past it. Docker refuses the option where it cannot honour
 * it (overlay2 on anything but xfs with pquota); a btrfs whose quotas were enabled after its data
 * was there may take the option and enforce nothing (seen here): either way the server says so.
 */
export async function probeDiskQuota(docker: Docker, limitMb: number, probeImage: string): Promise<DiskQuota> {
  if (limitMb === 0) return unbounded('instance disk is not bounded (WIDEMESH_INSTANCE_DISK_MB=0)');
  const { driver, description } = await storageOf(docker);
  const quota = new EnforcedQuota(docker, limitMb, driver);
  const notBounded = (reason: string) =>
    unbounded(
      `instance disk is NOT bounded: this Docker engine (${description}) cannot enforce ` +
        `WIDEMESH_INSTANCE_DISK_MB=${limitMb} (${reason}); see "Disk" in the README`,
    );
  try {
    const wrote = await writesPastQuota(docker, probeImage, await quota.storageOpt(probeImage, PROBE_MB));
    return wrote ? notBounded(`a container wrote ${2 * PROBE_MB} MiB under a ${PROBE_MB} MiB quota`) : quota;
  } catch (err) {
    return notBounded(`Docker: ${dockerMessage(err)}`);
  }
}

/** Whether a container with `storageOpt` wrote twice its quota (dd's exit status says); it is removed after. */
async function writesPastQuota(docker: Docker, image: string, storageOpt: Record<string, string>): Promise<boolean> {
  const container = await docker.createContainer({
    name: `wm-disk-probe-${crypto.randomBytes(4).toString('hex')}`,
    Image: image,
    Entrypoint: ['dd', 'if=/dev/zero', 'of=/wm-disk-probe', 'bs=1M', `count=${2 * PROBE_MB}`],
    Cmd: [],
    HostConfig: { NetworkMode: 'none', StorageOpt: storageOpt },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return StatusCode === 0;
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
