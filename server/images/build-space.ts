import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { confinement, RELAY_LIMITS } from '../racks/confinement.ts';

/** What one build may use (WIDEMESH_BUILD_MEMORY_MB, _CPUS, _PIDS). */
export interface BuildLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

/** Where one build's steps run: the builder's options for it, and how to free it afterwards. */
export interface BuildSpace {
  options: Record<string, unknown>;
  limits?: BuildLimits;
  close(): Promise<void>;
}

export interface BuildSpaces {
  open(): Promise<BuildSpace>;
}

/** The port the relay listens on inside a sandbox: builds get it as HTTP(S)_PROXY. */
const PROXY_PORT = 3128;
const PROXY_URL = `http://127.0.0.1:${PROXY_PORT}`;
/** Where the proxy's socket directory is mounted in a sandbox. */
const PROXY_MOUNT = '/run/widemesh-proxy';

/** Carries each TCP connection to 127.0.0.1:PROXY_PORT on to the host's proxy socket. */
const RELAY_SCRIPT = `const net = require('net');
net.createServer((client) => {
  const proxy = net.connect(process.env.PROXY_SOCKET);
  const end = () => { client.destroy(); proxy.destroy(); };
  client.on('error', end); proxy.on('error', end); client.on('close', end); proxy.on('close', end);
  client.pipe(proxy).pipe(client);
}).listen(${PROXY_PORT}, '127.0.0.1', () => console.log('relay ready'));`;

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Docker's classic builder takes memory and CPU limits for its step containers but no process
 * limit: a cgroup parent made here carries `pids.max` for every step of one build. Answers the
 * parent's name, or undefined where this process cannot write cgroups (e.g. in a container).
 */
function pidsCgroup(name: string, pids: number): string | undefined {
  const unified = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));
  const dir = path.join(CGROUP_ROOT, unified ? '' : 'pids', name);
  try {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'pids.max'), String(pids));
    return `/${name}`;
  } catch {
    return undefined;
  }
}

/** Removes a build's cgroup parent from every hierarchy Docker made it in (once its steps are gone). */
function removeCgroup(name: string): void {
  const unified = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));
  const hierarchies = unified ? [''] : fs.readdirSync(CGROUP_ROOT);
  for (const hierarchy of hierarchies) {
    try {
      fs.rmdirSync(path.join(CGROUP_ROOT, hierarchy, name));
    } catch {
      /* never made there, or not ours to remove */
    }
  }
}

/** The limits as the build API's options, plus a cgroup parent for the process limit. */
function limitOptions(limits: BuildLimits, cgroupName: string): Record<string, unknown> {
  const memory = limits.memoryMb * 1024 * 1024;
  const cgroupparent = pidsCgroup(cgroupName, limits.pids);
  return {
    memory,
    memswap: memory,
    cpuperiod: 100_000,
    cpuquota: Math.round(limits.cpus * 100_000),
    ...(cgroupparent ? { cgroupparent } : {}),
  };
}

/** Builds on the host's network (WIDEMESH_BUILD_NETWORK=host): limited, but a step can reach 127.0.0.1. */
export class HostBuilds implements BuildSpaces {
  constructor(private readonly limits?: BuildLimits) {}

  async open(): Promise<BuildSpace> {
    const cgroup = `widemesh-build-${crypto.randomBytes(6).toString('hex')}`;
    const options = this.limits ? limitOptions(this.limits, cgroup) : {};
    return {
      options: { networkmode: 'host', ...options },
      limits: this.limits,
      close: async () => removeCgroup(cgroup),
    };
  }
}

/**
 * Each build in a sandbox of its own: a container on Docker's `none` network (its own network
 * namespace, holding only `lo`) whose namespace the build's steps join. A relay in it listens on
 * the namespace's 127.0.0.1 and carries connections to the host's build proxy through a unix
 * socket (a file: it crosses namespaces), which is the only way out. One sandbox per build, so
 * no build can watch another's traffic; a spare one is kept started so a push does not wait.
 */
export class SandboxBuilds implements BuildSpaces {
  private spare?: Promise<Docker.Container>;

  constructor(
    private readonly docker: Docker,
    private readonly settings: {
      image: string;
      proxyDir: string;
      installationId: string;
      limits: BuildLimits;
      logger: Logger;
    },
  ) {}

  /** Marks this run's sandboxes: those of an earlier run (a killed server) are removed at start. */
  private readonly run = crypto.randomBytes(6).toString('hex');

  /** Starts the spare, and removes sandboxes an earlier run of this server left. */
  async start(): Promise<void> {
    this.refill();
    const { installationId, logger } = this.settings;
    const found = await this.docker
      .listContainers({
        all: true,
        filters: { label: [`widemesh.installation=${installationId}`, 'widemesh.role=build-sandbox'] },
      })
      .catch((err) => {
        logger.warn({ err: (err as Error).message }, 'could not list stale build sandboxes');
        return [];
      });
    for (const stale of found.filter((c) => c.Labels['widemesh.build-run'] !== this.run))
      await this.docker
        .getContainer(stale.Id)
        .remove({ force: true })
        .catch(() => {});
  }

  async open(): Promise<BuildSpace> {
    const taken = this.spare;
    this.spare = undefined;
    const sandbox = await (taken ?? this.create()).catch(() => this.create());
    this.refill();
    const cgroup = `widemesh-build-${sandbox.id.slice(0, 12)}`;
    return {
      options: {
        networkmode: `container:${sandbox.id}`,
        buildargs: { HTTP_PROXY: PROXY_URL, HTTPS_PROXY: PROXY_URL, http_proxy: PROXY_URL, https_proxy: PROXY_URL },
        ...limitOptions(this.settings.limits, cgroup),
      },
      limits: this.settings.limits,
      close: async () => {
        await sandbox.remove({ force: true }).catch(() => {});
        removeCgroup(cgroup);
      },
    };
  }

  /** The spare, when the server stops. */
  async close(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    await spare?.then((sandbox) => sandbox.remove({ force: true })).catch(() => {});
  }

  private refill(): void {
    const next = this.create();
    next.catch((err) => this.settings.logger.warn({ err: (err as Error).message }, 'no spare build sandbox'));
    this.spare = next;
  }

  private async create(): Promise<Docker.Container> {
    const { image, proxyDir, installationId } = this.settings;
    const sandbox = await this.docker.createContainer({
      Image: image,
      Cmd: ['node', '-e', RELAY_SCRIPT],
      Env: [`PROXY_SOCKET=${PROXY_MOUNT}/proxy.sock`],
      Labels: {
        'widemesh.installation': installationId,
        'widemesh.role': 'build-sandbox',
        'widemesh.build-run': this.run,
      },
      HostConfig: {
        ...confinement(RELAY_LIMITS),
        NetworkMode: 'none',
        Binds: [`${proxyDir}:${PROXY_MOUNT}:ro`],
        Init: true,
      },
    });
    await sandbox.start();
    await this.untilReady(sandbox);
    return sandbox;
  }

  /** The relay says so once it listens; a build step that ran earlier would find no proxy. */
  private async untilReady(sandbox: Docker.Container): Promise<void> {
    for (let waited = 0; waited < 10_000; waited += 25) {
      const output = await sandbox.logs({ stdout: true, stderr: true });
      if (output.toString('utf8').includes('relay ready')) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    await sandbox.remove({ force: true }).catch(() => {});
    throw new Error(`the build sandbox (${this.settings.image}) did not start its relay`);
  }
}
