import type Docker from 'dockerode';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import {
  type FoundInstance,
  type InstanceStatus,
  type OutputLine,
  type Rack,
  type ReleaseSpec,
  servicesOf,
} from './rack.ts';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

const ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 250;

/**
 * Calls a provider, retrying transient failures (throttling, 5xx, resets) with exponential
 * backoff and a bound; anything else fails at once with the provider's own message.
 */
export async function withRetries<T>(
  what: string,
  isTransient: (err: unknown) => boolean,
  log: BuildLog,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isTransient(err) || attempt >= ATTEMPTS) throw err;
      const wait = FIRST_BACKOFF_MS * 2 ** (attempt - 1);
      log.info(
        `${what}: ${errorMessage(err).slice(0, 160)}; retrying in ${wait} ms (attempt ${attempt + 1} of ${ATTEMPTS})`,
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/** Throttling, a server-side failure or a dropped connection: worth another try. */
export function isTransientFailure(httpStatus: number | undefined, networkCode: unknown): boolean {
  return (
    httpStatus === 429 ||
    (httpStatus !== undefined && httpStatus >= 500) ||
    TRANSIENT_NETWORK_CODES.has(String(networkCode))
  );
}

/** Asks `check` every `intervalMs` until it gives an answer; past the deadline, throws `timedOut()`. */
export async function pollUntil<T>(
  deadline: number,
  intervalMs: number,
  check: () => Promise<T | undefined>,
  timedOut: () => Error,
): Promise<T> {
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) throw timedOut();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * What cloud racks have in common: their services keep running on their own (nothing to
 * adopt, revive or stop: old revisions stop receiving traffic by themselves), and undoing a
 * deploy means deploying the previous release again, or deleting a service a failed first
 * release created.
 */
export abstract class CloudRack implements Rack {
  readonly reconcilable = false;
  abstract readonly name: string;
  abstract start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]>;
  /** Removes a service by the id its instances carry before '#'. */
  protected abstract deleteService(serviceId: string, log: BuildLog): Promise<void>;

  async revert(started: Instance[], previous: ReleaseSpec | undefined, log: BuildLog): Promise<void> {
    if (previous) await this.start(previous, log);
    else await this.remove(started, log);
  }

  /** Deletes the services the instances belong to (old revisions go with them). */
  async remove(instances: Instance[], log: BuildLog): Promise<void> {
    for (const serviceId of new Set(instances.map((i) => i.id.split('#')[0]!)))
      await this.deleteService(serviceId, log);
  }

  /** A cloud service runs one container image behind HTTP: other process types are not run there. */
  protected noteWebOnly(spec: ReleaseSpec, log: BuildLog): void {
    const others = servicesOf(spec.processes).filter(
      (s) => s.service !== 'web' && (spec.formation[s.service] ?? 0) > 0,
    );
    if (others.length > 0)
      log.info(`${this.name} runs the web process only: ${others.map((s) => s.service).join(', ')} not run there`);
  }

  /** The provider keeps its own instance count; we do not read it back yet. */
  async status(instances: Instance[]): Promise<InstanceStatus[]> {
    const unknown = { state: 'unknown' as const, restarts: 0, exitCode: null, startedAt: null };
    return instances.map((i) => ({ id: i.id, service: i.service, ...unknown }));
  }

  async restart(): Promise<void> {
    throw new WidemeshError(
      'NOT_SUPPORTED',
      `${this.name} is a cloud rack: restart by deploying again (or rolling back)`,
    );
  }

  async stop(): Promise<void> {}
  async list(): Promise<FoundInstance[]> {
    return [];
  }
  async revive(): Promise<boolean> {
    return true;
  }
  /** Cloud Logging and CloudWatch Logs are not wired yet: no app output from cloud racks. */
  async output(_i: Instance, _o: unknown, _l: (line: OutputLine) => void, onEnd: () => void): Promise<() => void> {
    onEnd();
    return () => {};
  }
}

/** Pushes a local image to a rack's registry; returns the immutable `repo@sha256:…` reference. */
export async function pushImage(
  docker: Docker,
  localImage: string,
  remote: string,
  auth: RegistryAuth | undefined,
  log: BuildLog,
): Promise<string> {
  const repo = remote.slice(0, remote.lastIndexOf(':'));
  const tag = remote.slice(remote.lastIndexOf(':') + 1);
  await docker.getImage(localImage).tag({ repo, tag });
  try {
    return await withRetries(
      `pushing ${remote}`,
      () => true,
      log,
      async () => {
        const image = docker.getImage(remote) as unknown as { push(opts: object): Promise<NodeJS.ReadableStream> };
        const stream = await image.push({ authconfig: auth ?? {} });
        let digest: string | undefined;
        let failure: string | undefined;
        await new Promise<void>((resolve, reject) =>
          docker.modem.followProgress(
            stream,
            (err) => (err ? reject(err) : resolve()),
            (event: { error?: string; aux?: { Digest?: string } }) => {
              if (event.error) failure = event.error;
              if (event.aux?.Digest) digest = event.aux.Digest;
            },
          ),
        );
        if (failure || !digest) throw new Error(failure ?? 'the registry returned no digest');
        return `${repo}@${digest}`;
      },
    );
  } catch (err) {
    throw new WidemeshError('IMAGE_PUSH_FAILED', `could not push the image to ${repo}: ${errorMessage(err)}`);
  } finally {
    // the pushed tag was only a vehicle: the local image keeps its own tags
    await (docker.getImage(remote).remove({ noprune: true }) as Promise<unknown>).catch(() => {});
  }
}

/** Pushes a release's image to a rack's registry as APP:ENV-vN; returns the immutable reference. */
export async function pushRelease(
  docker: Docker,
  registry: string,
  spec: ReleaseSpec,
  auth: RegistryAuth | undefined,
  log: BuildLog,
): Promise<string> {
  const remote = `${registry}/${spec.app}:${spec.environment}-v${spec.version}`;
  const image = await pushImage(docker, spec.image, remote, auth, log);
  log.info(`pushed ${image}`);
  return image;
}

/** A cloud service URL as an instance the router can reach. */
export function instanceFromUrl(id: string, url: string): Instance {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'https:';
  return {
    id,
    service: 'web',
    host: parsed.hostname,
    port: Number(parsed.port) || (tls ? 443 : 80),
    ...(tls ? { tls } : {}),
  };
}

/** Cloud services have names, not container ids: one per app environment. */
export const cloudServiceName = (app: string, environment: string) =>
  `wm-${app}-${environment}`.slice(0, 49).replace(/-+$/, '');
