import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import type { FoundInstance, OutputLine, Rack, ReleaseSpec } from './rack.ts';

export interface LocalRackOptions {
  installationId: string;
  healthcheckTimeoutMs: number;
  /** Seconds Docker waits after SIGTERM before SIGKILL when an instance is stopped. */
  stopGraceSeconds?: number;
}

const LABEL = 'widemesh';
const POLL_MS = 50;

/** Loopback ports handed out by this process and not yet released, so two starts never share one. */
const reservedPorts = new Set<number>();

async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (!reservedPorts.has(port)) {
      reservedPorts.add(port);
      return port;
    }
  }
}

/** One answer below 500 on `/` means the app is up (Heroku's port-bind rule, over HTTP). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/', timeout: 2000, headers: { 'user-agent': 'widemesh-healthcheck' } },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** A rack on the local Docker engine: containers on host networking, each bound to its own loopback port. */
export class LocalRack implements Rack {
  readonly reconcilable = true;

  constructor(
    readonly name: string,
    private readonly docker: Docker,
    private readonly options: LocalRackOptions,
  ) {}

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    const port = await freeLoopbackPort();
    const suffix = crypto.randomBytes(3).toString('hex');
    const service = 'web';
    const web = spec.processes.web;
    const container = await this.docker.createContainer({
      name: `wm-${this.options.installationId}-${spec.app}-${spec.environment}-v${spec.version}-${this.name}-${suffix}`,
      Image: spec.image,
      ...(web ? { Cmd: ['/bin/sh', '-c', web] } : {}),
      Env: [...Object.entries(spec.config).map(([k, v]) => `${k}=${v}`), `PORT=${port}`],
      Labels: {
        [`${LABEL}.installation`]: this.options.installationId,
        [`${LABEL}.rack`]: this.name,
        [`${LABEL}.app`]: spec.app,
        [`${LABEL}.environment`]: spec.environment,
        [`${LABEL}.release`]: String(spec.version),
        [`${LABEL}.service`]: service,
        [`${LABEL}.port`]: String(port),
      },
      HostConfig: {
        NetworkMode: 'host',
        // node as PID 1 ignores SIGTERM; an init makes stops take milliseconds instead of the full timeout
        Init: true,
        RestartPolicy: { Name: 'unless-stopped' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
      },
    });
    const instance: Instance = { id: container.id, service, host: '127.0.0.1', port };
    try {
      await container.start();
      await this.waitHealthy(container, port, log);
      return [instance];
    } catch (err) {
      await this.stop([instance]);
      throw err;
    }
  }

  private async waitHealthy(container: Docker.Container, port: number, log: BuildLog): Promise<void> {
    const deadline = Date.now() + this.options.healthcheckTimeoutMs;
    for (;;) {
      if (await answers(port)) return;
      const { State } = await container.inspect();
      if (!State.Running || State.Restarting || (State as { RestartCount?: number }).RestartCount) {
        await this.showRecentOutput(container, log);
        throw new WidemeshError(
          'INSTANCE_CRASHED',
          `the web process exited (code ${State.ExitCode}) before answering on $PORT in rack ${this.name}`,
        );
      }
      if (Date.now() >= deadline) {
        await this.showRecentOutput(container, log);
        throw new WidemeshError(
          'HEALTHCHECK_TIMEOUT',
          `the web process did not answer HTTP on $PORT (${port}) within ${Math.round(this.options.healthcheckTimeoutMs / 1000)}s in rack ${this.name}; ` +
            'it must listen on the port given in the PORT environment variable',
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The last lines the app printed are usually the reason it failed. */
  private async showRecentOutput(container: Docker.Container, log: BuildLog): Promise<void> {
    try {
      const raw = (await container.logs({ stdout: true, stderr: true, tail: 20, follow: false })) as unknown as Buffer;
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const demuxed = new PassThrough();
      demuxed.end(raw);
      this.docker.modem.demuxStream(demuxed, out, out);
      await new Promise((r) => demuxed.on('end', r));
      const text = Buffer.concat(chunks).toString('utf8').trimEnd();
      if (text) log.info(`last output of the web process:\n${text}`);
    } catch (err) {
      log.info(`(could not read the web process output: ${errorMessage(err)})`);
    }
  }

  async stop(instances: Instance[]): Promise<void> {
    await Promise.all(
      instances.map(async (instance) => {
        const container = this.docker.getContainer(instance.id);
        try {
          await container.stop({ t: this.options.stopGraceSeconds ?? 10 });
        } catch {
          /* already stopped or gone */
        }
        try {
          await container.remove({ force: true });
        } catch {
          /* already gone */
        }
        reservedPorts.delete(instance.port);
      }),
    );
  }

  /** The previous release's containers still run (they were never stopped): dropping the new ones is enough. */
  async revert(started: Instance[]): Promise<void> {
    await this.stop(started);
  }

  async list(): Promise<FoundInstance[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL}.installation=${this.options.installationId}`, `${LABEL}.rack=${this.name}`] },
    });
    return containers.map((c) => {
      const port = Number(c.Labels[`${LABEL}.port`]);
      reservedPorts.add(port);
      return {
        id: c.Id,
        service: c.Labels[`${LABEL}.service`] ?? 'web',
        host: '127.0.0.1',
        port,
        running: c.State === 'running',
      };
    });
  }

  async output(
    instance: Instance,
    options: { tail: number; follow: boolean },
    onLine: (line: OutputLine) => void,
    onEnd: () => void,
  ): Promise<() => void> {
    const container = this.docker.getContainer(instance.id);
    const raw = (await container.logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: options.tail,
      follow: options.follow as true,
    })) as unknown as NodeJS.ReadableStream | Buffer;
    const source = Buffer.isBuffer(raw) ? PassThrough.from([raw]) : raw;
    const splitter = (stream: OutputLine['stream']) => {
      const out = new PassThrough();
      let pending = '';
      out.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const space = l.indexOf(' ');
          onLine({ at: l.slice(0, space), stream, line: l.slice(space + 1) });
        }
      });
      return out;
    };
    this.docker.modem.demuxStream(source, splitter('stdout'), splitter('stderr'));
    source.on('end', onEnd);
    source.on('error', onEnd);
    return () => (source as unknown as { destroy?: () => void }).destroy?.();
  }

  async revive(instance: Instance): Promise<boolean> {
    try {
      await this.docker.getContainer(instance.id).start();
      return true;
    } catch {
      return false;
    }
  }
}
