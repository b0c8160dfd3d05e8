/**
 * What a release looks like to Docker Swarm, as data (no I/O: unit-tested in
 * test/unit/swarm-spec.test.ts): one Swarm service per process type, on the environment's own
 * overlay network, reached by DNS round robin (no IPVS needed), replaced start-first.
 */
import type { HealthCheck } from '../../buildpacks/app-json.ts';
import type { InstanceLimits } from './confinement.ts';
import type { ReleaseSpec } from './rack.ts';

export const LABEL = 'widemesh';
/** Each web task has a network namespace of its own: one fixed port serves. */
export const WEB_PORT = 5000;
const SECOND_NS = 1_000_000_000;

/** Swarm service and network names are DNS labels: at most 63 characters. */
const dnsName = (...parts: string[]) => parts.join('-').slice(0, 63).replace(/-+$/, '');

export const serviceName = (spec: Pick<ReleaseSpec, 'app' | 'environment'>, service: string) =>
  dnsName('wm', spec.app, spec.environment, service);

export const networkName = (installationId: string, spec: Pick<ReleaseSpec, 'app' | 'environment'>) =>
  dnsName('wm', installationId, spec.app, spec.environment);

export function environmentLabels(installationId: string, spec: Pick<ReleaseSpec, 'app' | 'environment'>) {
  return {
    [`${LABEL}.installation`]: installationId,
    [`${LABEL}.app`]: spec.app,
    [`${LABEL}.environment`]: spec.environment,
  };
}

/**
 * An HTTP check in the image's bash (stack images have no curl): a GET on $PORT whose status
 * must stay below `maxStatus`.
 */
export function httpCheckCommand(path: string, maxStatus: number): string[] {
  const request = `GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\nUser-Agent: widemesh-healthcheck\\r\\n\\r\\n`;
  const script = [
    `exec 3<>/dev/tcp/127.0.0.1/${WEB_PORT}`,
    `printf '${request}' >&3`,
    'read -r _ status _ <&3',
    `[ "$status" -le ${maxStatus} ]`,
  ].join(' && ');
  return ['CMD', 'bash', '-c', script];
}

/** Swarm's health check: app.json's first path check, else Heroku's rule (any answer below 500 on `/`). */
function healthcheckOf(service: string, checks: HealthCheck[] | undefined, startPeriodMs: number) {
  if (service !== 'web') return undefined;
  const check = checks?.find((c) => c.path);
  const timeoutSeconds = check?.timeout ?? 5;
  return {
    Test: check?.path ? httpCheckCommand(check.path, 399) : httpCheckCommand('/', 499),
    Interval: 2 * SECOND_NS,
    Timeout: timeoutSeconds * SECOND_NS,
    Retries: check?.attempts ?? 3,
    StartPeriod: Math.round(startPeriodMs / 1000) * SECOND_NS,
  };
}

interface ServiceInput {
  spec: ReleaseSpec;
  service: string;
  command: string | undefined;
  /** the release image as the nodes pull it, by digest */
  image: string;
  network: string;
  installationId: string;
  limits: InstanceLimits;
  startPeriodMs: number;
}

/** The Swarm service spec of one process type of a release. */
export function serviceSpec(input: ServiceInput) {
  const { spec, service, command, image } = input;
  const labels = {
    ...environmentLabels(input.installationId, spec),
    [`${LABEL}.service`]: service,
    [`${LABEL}.release`]: String(spec.version),
  };
  const env = [...Object.entries(spec.config).map(([k, v]) => `${k}=${v}`), `DYNO=${service}`];
  if (service === 'web') env.push(`PORT=${WEB_PORT}`);
  const limits = { ...input.limits, ...defined(spec.resources[service]) };
  const healthcheck = healthcheckOf(service, spec.healthchecks[service], input.startPeriodMs);
  return {
    Name: serviceName(spec, service),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(command ? { Command: ['/bin/sh', '-c', command] } : {}),
        Env: env,
        Labels: labels,
        Init: true,
        StopGracePeriod: 10 * SECOND_NS,
        ...(healthcheck ? { Healthcheck: healthcheck } : {}),
      },
      Resources: {
        Limits: {
          MemoryBytes: limits.memoryMb * 1024 * 1024,
          NanoCPUs: Math.round(limits.cpus * 1e9),
          Pids: limits.pids,
        },
      },
      RestartPolicy: { Condition: 'any', Delay: SECOND_NS },
      Networks: [{ Target: input.network }],
    },
    Mode: { Replicated: { Replicas: spec.formation[service] ?? 0 } },
    UpdateConfig: rollingUpdate('rollback'),
    RollbackConfig: rollingUpdate('pause'),
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/** One task at a time, the new one healthy before the old one stops; a failed task stops the update. */
function rollingUpdate(onFailure: 'rollback' | 'pause') {
  return { Parallelism: 1, Order: 'start-first', FailureAction: onFailure, Monitor: 5 * SECOND_NS, MaxFailureRatio: 0 };
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
