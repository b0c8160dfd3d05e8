import type Docker from 'dockerode';

/** What one instance may use. */
export interface InstanceLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

/**
 * Capabilities an app may need: owning and reading its files, switching users (php-fpm, nginx
 * workers), signalling its children, binding a low port in its own namespace. Docker's other
 * defaults (raw sockets, mknod, chroot, file capabilities, audit writes) are dropped.
 */
const APP_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'];

/** The part of a container's HostConfig that bounds what its processes can do and use. */
export function confinement(limits: InstanceLimits): Docker.HostConfig {
  const memory = limits.memoryMb * 1024 * 1024;
  return {
    CapDrop: ['ALL'],
    CapAdd: APP_CAPABILITIES,
    SecurityOpt: ['no-new-privileges'],
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
  };
}

/** A relay only carries bytes between a socket and the app's port. */
export const RELAY_LIMITS: InstanceLimits = { memoryMb: 64, cpus: 0.5, pids: 64 };
