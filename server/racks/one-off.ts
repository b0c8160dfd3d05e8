import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { WidemeshError } from '../errors.ts';
import type { Environment, Release } from '../store/index.ts';
import { confinement, type InstanceLimits } from './confinement.ts';

/** A command to run once in a release's image, with the release's config. */
export interface OneOffRequest {
  env: Pick<Environment, 'appName' | 'name'>;
  release: Pick<Release, 'image' | 'config'>;
  command: string;
}

export interface OneOffOptions {
  /** `none` when instances are isolated: a one-off process gets no more network than they do. */
  networkMode: 'none' | 'host';
  limits: InstanceLimits;
  /** Killed after this long, and counted as failed. */
  timeoutMs: number;
}

export type OutputStream = 'stdout' | 'stderr';

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

  /** Resolves with the command's exit code. */
  async run(req: OneOffRequest, onLine: (stream: OutputStream, line: string) => void): Promise<number> {
    const { env, release, command } = req;
    const { networkMode, limits, timeoutMs } = this.options;
    const container = await this.docker.createContainer({
      Image: release.image,
      Cmd: ['/bin/sh', '-c', command],
      Env: [...Object.entries(release.config).map(([k, v]) => `${k}=${v}`), 'DYNO=run.1'],
      Labels: {
        'widemesh.installation': this.installationId,
        'widemesh.one-off': `${env.appName}/${env.name}`,
      },
      HostConfig: { ...confinement(limits), NetworkMode: networkMode, Init: true },
    });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const stdout = lineSplitter('stdout', onLine);
      const stderr = lineSplitter('stderr', onLine);
      this.docker.modem.demuxStream(stream, stdout, stderr);
      const ended = new Promise<void>((resolve) => stream.on('end', resolve));
      await container.start();
      const exit = await this.waitWithTimeout(container, timeoutMs);
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
      stdout.end();
      stderr.end();
      return exit;
    } finally {
      await container.remove({ force: true }).catch(() => {});
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
