import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type Docker from 'dockerode';
import { WidemeshError } from '../errors.ts';
import type { Instance } from '../store/index.ts';
import { confinement, RELAY_LIMITS } from './confinement.ts';
import { listensOn } from './listening.ts';

/** The relay image scripts/build-stacks builds (scripts/relay/). */
export const RELAY_IMAGE = 'widemesh/relay:5';

/** Socket file names are random ids: container names can be longer than a socket path may be. */
const SOCKET_ID_BYTES = 8;

/** Where an instance listens and how the edge reaches it. */
export interface Attachment {
  /** Docker's HostConfig.NetworkMode for the app's container. */
  networkMode: string;
  /** The PORT a web instance listens on (0 for other services). */
  port: number;
  address: Pick<Instance, 'host' | 'port' | 'socket' | 'sandbox'>;
}

/** How a local rack connects instances to the network: isolated (the default) or the host's. */
export interface InstanceNetwork {
  readonly isolated: boolean;
  attach(name: string, service: string, labels: Record<string, string>): Promise<Attachment>;
  /** Frees what attach made; the app's container is already gone. */
  detach(instance: Instance): Promise<void>;
  /** Before a stopped instance starts again (after a crash of the engine or the machine). */
  revive(instance: Instance): Promise<void>;
  /** An instance found running after a restart of the server. */
  adopt(instance: Instance): void;
  /** Whether a web instance listens on its PORT (Heroku's boot check), asked in its own network namespace. */
  listening(instance: Instance): Promise<boolean>;
}

/**
 * Each instance in a network namespace of its own (Docker's `none` network): it cannot reach
 * or bind anything on the host's loopback (the API, the edge, other apps). A web instance's
 * namespace belongs to a relay container (nginx) that listens on a unix socket in a host
 * directory, which is how the edge and the health checks reach it. Every web instance can use
 * the same PORT: each has its own loopback.
 */
export class IsolatedNetwork implements InstanceNetwork {
  readonly isolated = true;
  static readonly APP_PORT = 5000;

  constructor(
    private readonly docker: Docker,
    private readonly relayImage: string,
    private readonly socketDir: string,
  ) {
    // a unix socket's path must fit in sun_path (108 bytes on Linux): the directory plus a short name
    if (Buffer.byteLength(path.join(socketDir, `${'0'.repeat(SOCKET_ID_BYTES * 2)}.sock`)) >= 108) {
      throw new WidemeshError(
        'SOCKET_DIR_TOO_LONG',
        `the socket directory ${socketDir} is too long for unix sockets; set WIDEMESH_SOCKET_DIR to a shorter path`,
      );
    }
    fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  }

  async attach(name: string, service: string, labels: Record<string, string>): Promise<Attachment> {
    const port = IsolatedNetwork.APP_PORT;
    if (service !== 'web') return { networkMode: 'none', port: 0, address: { host: '127.0.0.1', port: 0 } };
    const socketName = `${crypto.randomBytes(SOCKET_ID_BYTES).toString('hex')}.sock`;
    const relay = await this.docker.createContainer({
      name: `${name}-relay`,
      Image: this.relayImage,
      Env: [`SOCKET_NAME=${socketName}`, `APP_PORT=${port}`],
      Labels: { ...labels, 'widemesh.role': 'relay' },
      HostConfig: {
        ...confinement(RELAY_LIMITS),
        NetworkMode: 'none',
        Binds: [`${this.socketDir}:/run/widemesh`],
        RestartPolicy: { Name: 'unless-stopped' },
        Init: true,
      },
    });
    await relay.start();
    const socket = path.join(this.socketDir, socketName);
    return {
      networkMode: `container:${relay.id}`,
      port,
      address: { host: '127.0.0.1', port, socket, sandbox: relay.id },
    };
  }

  async detach(instance: Instance): Promise<void> {
    if (instance.sandbox)
      await this.docker
        .getContainer(instance.sandbox)
        .remove({ force: true })
        .catch(() => {});
    if (instance.socket) fs.rmSync(instance.socket, { force: true });
  }

  async revive(instance: Instance): Promise<void> {
    if (instance.sandbox)
      await this.docker
        .getContainer(instance.sandbox)
        .start()
        .catch(() => {});
  }

  adopt(): void {}

  /**
   * The relay accepts on its socket, and /proc/net/tcp{,6} read inside it (it holds the instance's network
   * namespace) shows the app listening: no request reaches the app, and it works wherever the server runs
   * (no host process ids are needed, only Docker).
   */
  async listening(instance: Instance): Promise<boolean> {
    if (!instance.sandbox || !instance.socket || !(await accepts({ path: instance.socket }))) return false;
    const exec = await this.docker.getContainer(instance.sandbox).exec({
      Cmd: ['cat', '/proc/net/tcp', '/proc/net/tcp6'],
      AttachStdout: true,
      Tty: true,
    });
    const stream = await exec.start({ Tty: true });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return listensOn(Buffer.concat(chunks).toString('utf8'), instance.port);
  }
}

/** Instances on the host's network, each web instance on a loopback port of its own. */
export class HostNetwork implements InstanceNetwork {
  readonly isolated = false;
  /** Ports handed out by this process and not yet released, so two starts never share one. */
  private readonly reserved = new Set<number>();

  async attach(_name: string, service: string): Promise<Attachment> {
    const port = service === 'web' ? await this.freeLoopbackPort() : 0;
    return { networkMode: 'host', port, address: { host: '127.0.0.1', port } };
  }

  async detach(instance: Instance): Promise<void> {
    this.reserved.delete(instance.port);
  }

  async revive(): Promise<void> {}

  adopt(instance: Instance): void {
    if (instance.port) this.reserved.add(instance.port);
  }

  /** A TCP connect to its loopback port: it is in the host's namespace, where the edge reaches it. */
  listening(instance: Instance): Promise<boolean> {
    return accepts({ host: '127.0.0.1', port: instance.port });
  }

  private async freeLoopbackPort(): Promise<number> {
    for (;;) {
      const port = await new Promise<number>((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as net.AddressInfo;
          server.close(() => resolve(port));
        });
      });
      if (!this.reserved.has(port)) {
        this.reserved.add(port);
        return port;
      }
    }
  }
}

/** Whether a connection opens (and is closed at once, before anything is sent). */
function accepts(where: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ ...where, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
