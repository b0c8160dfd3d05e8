import type Docker from 'dockerode';
import type { ResourceLimits } from '../../buildpacks/app-json.ts';
import { WidemeshError } from '../errors.ts';

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

/** The most an operator lets app.json ask for per instance (WIDEMESH_INSTANCE_MAX_MEMORY_MB, _MAX_CPUS). */
export interface InstanceCeiling {
  memoryMb: number;
  cpus: number;
}

/** LIMIT_ABOVE_CEILING, naming the process type and the limit, when app.json asks for more than the ceiling. */
export function assertWithinCeiling(resources: Record<string, ResourceLimits>, ceiling: InstanceCeiling): void {
  for (const [type, asked] of Object.entries(resources)) {
    const over = (what: string, value: number, most: number, unit: string, variable: string) =>
      new WidemeshError(
        'LIMIT_ABOVE_CEILING',
        `app.json formation.${type}.${what} asks for ${value}${unit}; this server allows at most ${most}${unit} per instance (${variable})`,
      );
    if (asked.memoryMb !== undefined && asked.memoryMb > ceiling.memoryMb)
      throw over('memory', asked.memoryMb, ceiling.memoryMb, ' MiB', 'WIDEMESH_INSTANCE_MAX_MEMORY_MB');
    if (asked.cpus !== undefined && asked.cpus > ceiling.cpus)
      throw over('cpus', asked.cpus, ceiling.cpus, ' CPUs', 'WIDEMESH_INSTANCE_MAX_CPUS');
  }
}

/** A relay only carries bytes between a socket and the app's port. */
export const RELAY_LIMITS: InstanceLimits = { memoryMb: 64, cpus: 0.5, pids: 64 };
