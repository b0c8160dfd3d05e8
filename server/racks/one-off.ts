import { PassThrough, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { WidemeshError } from '../errors.ts';
import type { Environment, Release } from '../store/index.ts';
import { confinement, type InstanceLimits } from './confinement.ts';
import type { DiskQuota } from './disk-quota.ts';

/** A command to run once in a release's image, with the release's config. */
export interface OneOffRequest {
  env: Pick<Environment, 'appName' | 'name'>;
  release: Pick<Release, 'image' | 'config'>;
  command: string;
}

interface OneOffOptions {
  /** `none` when instances are isolated: a one-off process gets no more network than they do. */
  networkMode: 'none' | 'host';
  limits: InstanceLimits;
  /** A one-off process may write no more than an instance. */
  diskQuota: DiskQuota;
  /** Killed after this long, and counted as failed. */
  timeoutMs: number;
}

export type OutputStream = 'stdout' | 'stderr';

/** `widemesh run`'s terminal: a TTY (raw bytes, one stream) or pipes (stdout and stderr apart). */
export interface Terminal {
  tty: boolean;
  cols?: number;
  rows?: number;
}

/** A running interactive one-off process: its stdin, its terminal size, and how it ended. */
export interface OneOffSession {
  write(data: Buffer): void;
  /** No more input (stdin reached its end): the process reads EOF. */
  endInput(): void;
  resize(cols: number, rows: number): void;
  /** Resolves with the exit code once the container is removed. */
  exited: Promise<number>;
  kill(): void;
}

const writer = (onData: (data: Buffer) => void) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      onData(chunk);
      done();
    },
  });

/** Splits a byte stream into lines for `onLine`; the tail without a newline comes at the end. */
function lineSplitter(stream: OutputStream, onLine: (stream: OutputStream, line: string) => void): PassThrough {
  const out = new PassThrough();
  let pending = '';
  out.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(stream, line);
  });
  out.on('end', () => {
    if (pending) onLine(stream, pending);
  });
  return out;
}

/**
 * One-off processes (the release phase, app.json scripts, `widemesh run`): a container of the
 * release's image with its config, on the local engine, whose output streams back line by line.
 * It is removed when it ends, whatever happened: nothing is left running.
 */
export class OneOffRunner {
  constructor(
    private readonly docker: Docker,
    private readonly installationId: string,
    private readonly options: OneOffOptions,
  ) {}

  /** The container of a one-off process; with `terminal`, its stdin stays open (and is a TTY when asked). */
  async create(req: OneOffRequest, terminal?: { tty: boolean }): Promise<Docker.Container> {
    const { env, release, command } = req;
    const { networkMode, limits, diskQuota } = this.options;
    const interactive = terminal ? { OpenStdin: true, StdinOnce: true, Tty: terminal.tty } : {};
    const term = terminal?.tty ? ['TERM=xterm-256color'] : [];
    return this.docker.createContainer({
      Image: release.image,
      Cmd: ['/bin/sh', '-c', command],
      Env: [...Object.entries(release.config).map(([k, v]) => `${k}=${v}`), 'DYNO=run.1', ...term],
      Labels: {
        'widemesh.installation': this.installationId,
        'widemesh.one-off': `${env.appName}/${env.name}`,
      },
      HostConfig: {
        ...confinement(limits),
        StorageOpt: await diskQuota.storageOpt(release.image),
        NetworkMode: networkMode,
        Init: true,
      },
      ...interactive,
    });
  }

  /** Resolves with the command's exit code. */
  async run(req: OneOffRequest, onLine: (stream: OutputStream, line: string) => void): Promise<number> {
    const container = await this.create(req);
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const stdout = lineSplitter('stdout', onLine);
      const stderr = lineSplitter('stderr', onLine);
      this.docker.modem.demuxStream(stream, stdout, stderr);
      const ended = new Promise<void>((resolve) => stream.on('end', resolve));
      await container.start();
      const exit = await this.waitWithTimeout(container, this.options.timeoutMs);
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
      stdout.end();
      stderr.end();
      return exit;
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
  }

  /**
   * `widemesh run`: the process with its stdin attached, its output as raw bytes to `output`.
   * The container is removed when the process ends or is killed.
   */
  async session(
    req: OneOffRequest,
    terminal: Terminal,
    output: (stream: OutputStream, data: Buffer) => void,
  ): Promise<OneOffSession> {
    const container = await this.create(req, terminal);
    try {
      const options = { stream: true, stdin: true, stdout: true, stderr: true, hijack: true };
      const stream = (await container.attach(options)) as NodeJS.ReadWriteStream & { destroy(): void };
      if (terminal.tty) stream.on('data', (data: Buffer) => output('stdout', data));
      else
        this.docker.modem.demuxStream(
          stream,
          writer((d) => output('stdout', d)),
          writer((d) => output('stderr', d)),
        );
      const ended = new Promise((resolve) => stream.on('end', resolve));
      await container.start();
      const resize = (w: number, h: number) => void container.resize({ w, h }).catch(() => {});
      if (terminal.tty && terminal.cols && terminal.rows) resize(terminal.cols, terminal.rows);
      const exited = this.waitWithTimeout(container, this.options.timeoutMs).finally(async () => {
        await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
        stream.destroy();
        await container.remove({ force: true }).catch(() => {});
      });
      return {
        write: (data) => void stream.write(data),
        // a TTY's end of input is Ctrl-D: half-closing a TTY attach would end its output too
        endInput: () => void (terminal.tty ? stream.write(Buffer.from([4])) : stream.end()),
        resize,
        exited,
        kill: () => void container.kill().catch(() => {}),
      };
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      throw err;
    }
  }

  private async waitWithTimeout(container: Docker.Container, timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void container.kill().catch(() => {});
        const seconds = Math.round(timeoutMs / 1000);
        reject(new WidemeshError('ONE_OFF_TIMEOUT', `the command did not finish within ${seconds}s and was stopped`));
      }, timeoutMs);
    });
    try {
      const result = (await Promise.race([container.wait(), timedOut])) as { StatusCode: number };
      return result.StatusCode;
    } finally {
      clearTimeout(timer);
    }
  }
}
