import os from 'node:os';
import path from 'node:path';

/** Everything the server reads from its environment, validated once at start. */
export interface Config {
  host: string;
  apiPort: number;
  routerPort: number;
  domain: string;
  dataDir: string;
  racks: string[];
  buildTimeoutMs: number;
  healthcheckTimeoutMs: number;
  drainMs: number;
  maxSourceBytes: number;
  logLevel: string;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const domain = (env.WIDEMESH_DOMAIN ?? 'localhost').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
    throw new ConfigError(`WIDEMESH_DOMAIN "${domain}" is not a valid domain name`);
  }
  const racks = (env.WIDEMESH_RACKS ?? 'local-a,local-b').split(',').map((r) => r.trim()).filter(Boolean);
  if (racks.length < 2) throw new ConfigError('WIDEMESH_RACKS must name at least two racks (an environment runs in two regions)');
  for (const rack of racks) {
    if (!/^local-[a-z0-9]{1,20}$/.test(rack)) throw new ConfigError(`WIDEMESH_RACKS: "${rack}" is not a local rack name (local-<name>)`);
  }
  return {
    host: env.WIDEMESH_HOST ?? '127.0.0.1',
    apiPort: int(env, 'WIDEMESH_PORT', 7070, 0, 65535),
    routerPort: int(env, 'WIDEMESH_ROUTER_PORT', 7080, 0, 65535),
    domain,
    dataDir: path.resolve(env.WIDEMESH_DATA ?? path.join(os.homedir(), '.widemesh')),
    racks,
    buildTimeoutMs: int(env, 'WIDEMESH_BUILD_TIMEOUT', 900, 10, 86400) * 1000,
    healthcheckTimeoutMs: int(env, 'WIDEMESH_HEALTHCHECK_TIMEOUT', 60, 1, 3600) * 1000,
    drainMs: int(env, 'WIDEMESH_DRAIN_MS', 2000, 0, 600_000),
    maxSourceBytes: int(env, 'WIDEMESH_MAX_SOURCE_MB', 512, 1, 65536) * 1024 * 1024,
    logLevel: env.WIDEMESH_LOG_LEVEL ?? 'info',
  };
}
