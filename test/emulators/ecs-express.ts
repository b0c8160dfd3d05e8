import crypto from 'node:crypto';
import http from 'node:http';
import type Docker from 'dockerode';
import { answerEcrToken, LocalServiceHost, listenEmulator } from './backing.ts';

interface EcsExpressFaults {
  /** The next N requests are throttled. */
  throttle?: number;
  /** Every request is refused as unauthenticated. */
  denied?: boolean;
  /** The next deployment's tasks never pass the health check: ECS rolls the deployment back. */
  failNextDeployment?: boolean;
}

export interface Revision {
  arn: string;
  image: string;
  env: Record<string, string>;
  command?: string[];
  containerPort: number;
  healthCheckPath: string;
  cpu: string;
  memory: string;
  scaling: { minTaskCount?: number; maxTaskCount?: number };
  createdAt: number;
}
interface Deployment {
  arn: string;
  status: string;
  target: string;
  source?: string;
  reason?: string;
  createdAt: number;
  finishedAt?: number;
}
interface ExpressService {
  arn: string;
  name: string;
  cluster: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  infrastructureRoleArn: string;
  executionRoleArn: string;
  /** The revision the load balancer sends traffic to. */
  serving?: Revision;
  /** The revision being deployed. */
  target?: Revision;
  currentDeployment?: string;
  deployments: Deployment[];
  /** The ingress endpoint: no scheme, as ECS gives it. */
  endpoint: string;
  createdAt: number;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ACCOUNT = '123456789012';
const now = () => Date.now() / 1000;
const id = () => crypto.randomBytes(8).toString('hex');
/** Request bodies: untrusted JSON, read field by field. */
type Input = any;

/** The SigV4 credential scope (AKID/date/region/service/aws4_request): requests must be signed for `ecs`. */
function signedRegion(req: http.IncomingMessage): string {
  const scope = /Credential=([^,]+)/.exec(String(req.headers.authorization ?? ''))?.[1]?.split('/') ?? [];
  if (scope.length !== 5 || scope[3] !== 'ecs' || scope[4] !== 'aws4_request')
    throw new AwsError('InvalidSignatureException', 'the request is not signed for the ecs service', 403);
  return scope[2]!;
}

/**
 * Amazon ECS's awsJson1_1 protocol (POST / with X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>)
 * for Express Mode services, each revision running on the local Docker behind one stable
 * endpoint; it also answers ECR's GetAuthorizationToken for image pushes.
 */
export async function startEcsExpress(docker: Docker) {
  const host = new LocalServiceHost(docker, 'widemesh-emulator.ecs-express');
  const services = new Map<string, ExpressService>();
  const faults: EcsExpressFaults = {};
  const ecr = { tokensIssued: 0 };
  const ops = operations(host, services, faults);

  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (answerEcrToken(req, res, ecr)) return;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() });
      res.end(JSON.stringify(body));
    };
    try {
      const region = signedRegion(req);
      if (faults.denied)
        throw new AwsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          403,
        );
      if (faults.throttle) {
        faults.throttle -= 1;
        throw new AwsError('ThrottlingException', 'Rate exceeded');
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = ops[target.replace(/^AmazonEC2ContainerServiceV20141113\./, '')];
      if (!op || !target.startsWith('AmazonEC2ContainerServiceV20141113.'))
        throw new AwsError('InvalidAction', `unknown operation ${target}`);
      send(200, await op(raw ? JSON.parse(raw) : {}, region));
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      send(err.status, { __type: err.type, message: err.message });
    }
  });
  return { ...(await listenEmulator(server, host, faults, services)), ecr };
}

function revisionOf(s: Pick<ExpressService, 'arn'>, input: Input, base: Revision | undefined): Revision {
  const container = input.primaryContainer ?? {};
  const env = container.environment
    ? Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]))
    : base?.env;
  return {
    arn: `${s.arn.replace(':service/', ':service-revision/')}/${id()}`,
    image: container.image ?? base?.image,
    env: env ?? {},
    command: container.command ?? base?.command,
    containerPort: container.containerPort ?? base?.containerPort ?? 80,
    healthCheckPath: input.healthCheckPath ?? base?.healthCheckPath ?? '/ping',
    cpu: input.cpu ?? base?.cpu ?? '256',
    memory: input.memory ?? base?.memory ?? '512',
    scaling: input.scalingTarget ?? base?.scaling ?? { minTaskCount: 1, maxTaskCount: 20 },
    createdAt: now(),
  };
}

function configurationView(s: ExpressService, r: Revision) {
  return {
    serviceRevisionArn: r.arn,
    executionRoleArn: s.executionRoleArn,
    cpu: r.cpu,
    memory: r.memory,
    healthCheckPath: r.healthCheckPath,
    primaryContainer: {
      image: r.image,
      containerPort: r.containerPort,
      environment: Object.entries(r.env).map(([name, value]) => ({ name, value })),
      ...(r.command ? { command: r.command } : {}),
    },
    scalingTarget: r.scaling,
    ingressPaths: [{ accessType: 'PUBLIC', endpoint: s.endpoint }],
    createdAt: r.createdAt,
  };
}

function serviceView(s: ExpressService) {
  const active = [s.target, s.serving].filter((r): r is Revision => r !== undefined);
  return {
    cluster: s.cluster,
    serviceName: s.name,
    serviceArn: s.arn,
    infrastructureRoleArn: s.infrastructureRoleArn,
    status: { statusCode: s.status },
    currentDeployment: s.currentDeployment,
    activeConfigurations: active.map((r) => configurationView(s, r)),
    createdAt: s.createdAt,
    updatedAt: now(),
  };
}

function deploymentView(s: ExpressService, d: Deployment) {
  return {
    serviceDeploymentArn: d.arn,
    serviceArn: s.arn,
    clusterArn: s.arn.replace(/:service\/([^/]+)\/.*$/, ':cluster/$1'),
    status: d.status,
    ...(d.reason ? { statusReason: d.reason, rollback: { reason: d.reason, serviceRevisionArn: d.source } } : {}),
    targetServiceRevision: { arn: d.target },
    sourceServiceRevisions: d.source ? [{ arn: d.source }] : [],
    createdAt: d.createdAt,
    startedAt: d.createdAt,
    ...(d.finishedAt ? { finishedAt: d.finishedAt } : {}),
  };
}

/** A deployment: the new revision's task must answer; if not, the circuit breaker rolls back to the serving one. */
function deploy(host: LocalServiceHost, s: ExpressService, revision: Revision, faults: EcsExpressFaults): void {
  const d: Deployment = { arn: '', status: 'IN_PROGRESS', target: revision.arn, createdAt: now() };
  d.arn = `${s.arn.replace(':service/', ':service-deployment/')}/${id()}`;
  d.source = s.serving?.arn;
  s.deployments.push(d);
  Object.assign(s, { currentDeployment: d.arn, target: revision });
  const fail = faults.failNextDeployment;
  faults.failNextDeployment = false;
  void (async () => {
    try {
      if (fail) throw new Error('unhealthy');
      // containerPort is mapped as a task's port would be: the container gets a loopback port of its own
      const { PORT: _mapped, ...env } = revision.env;
      await host.runRevision(s.arn, revision.image, env, 20_000);
      Object.assign(s, { serving: revision });
      d.status = 'SUCCESSFUL';
    } catch {
      d.status = 'ROLLBACK_SUCCESSFUL';
      d.reason = `tasks failed the load balancer health check at ${revision.healthCheckPath}; the deployment circuit breaker rolled back`;
    }
    Object.assign(d, { finishedAt: now() });
    s.target = undefined;
  })();
}

function operations(host: LocalServiceHost, services: Map<string, ExpressService>, faults: EcsExpressFaults) {
  const active = (arn: string) => {
    const s = services.get(arn);
    if (s?.status !== 'ACTIVE') throw new AwsError('ServiceNotFoundException', 'Service not found.');
    return s;
  };
  const ops: Record<string, (input: Input, region: string) => Promise<unknown>> = {
    async CreateExpressGatewayService(input, region) {
      for (const field of ['infrastructureRoleArn', 'executionRoleArn'])
        if (!input[field]) throw new AwsError('InvalidParameterException', `${field} is required`);
      if (!input.primaryContainer?.image)
        throw new AwsError('InvalidParameterException', 'primaryContainer.image is required');
      const cluster = input.cluster ?? 'default';
      const name = input.serviceName ?? `svc-${id()}`;
      const arn = `arn:aws:ecs:${region}:${ACCOUNT}:service/${cluster}/${name}`;
      if (services.get(arn)?.status === 'ACTIVE')
        throw new AwsError('InvalidParameterException', 'Creation of service was not idempotent.');
      const s: ExpressService = {
        arn,
        name,
        cluster,
        status: 'ACTIVE',
        infrastructureRoleArn: input.infrastructureRoleArn,
        executionRoleArn: input.executionRoleArn,
        deployments: [],
        endpoint: (await host.url(arn)).replace(/^http:\/\//, ''),
        createdAt: now(),
      };
      services.set(arn, s);
      deploy(host, s, revisionOf(s, input, undefined), faults);
      return { service: serviceView(s) };
    },
    async UpdateExpressGatewayService(input) {
      const s = active(input.serviceArn);
      const revision = revisionOf(s, input, s.serving ?? s.target);
      if (input.executionRoleArn) s.executionRoleArn = input.executionRoleArn;
      deploy(host, s, revision, faults);
      const { activeConfigurations: _, currentDeployment: __, ...rest } = serviceView(s);
      return { service: { ...rest, targetConfiguration: configurationView(s, revision) } };
    },
    async DescribeExpressGatewayService(input) {
      const s = services.get(input.serviceArn);
      if (!s) throw new AwsError('ServiceNotFoundException', 'Service not found.');
      return { service: serviceView(s) };
    },
    async DeleteExpressGatewayService(input) {
      const s = active(input.serviceArn);
      s.status = 'DRAINING';
      const answer = { service: serviceView(s) };
      await host.remove(s.arn);
      Object.assign(s, { status: 'INACTIVE', serving: undefined, target: undefined });
      return answer;
    },
    async DescribeServices(input, region) {
      const cluster = input.cluster ?? 'default';
      // a cluster exists once a service was created in it (Express Mode makes `default` on first use)
      if (![...services.values()].some((s) => s.cluster === cluster))
        throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
      const arns = (input.services as string[]).map((n) =>
        n.startsWith('arn:') ? n : `arn:aws:ecs:${region}:${ACCOUNT}:service/${cluster}/${n}`,
      );
      const found = arns.map((arn) => services.get(arn)).filter((s) => s !== undefined);
      return {
        services: found.map((s) => ({ serviceArn: s.arn, serviceName: s.name, status: s.status })),
        failures: arns.filter((arn) => !services.has(arn)).map((arn) => ({ arn, reason: 'MISSING' })),
      };
    },
    async DescribeServiceDeployments(input) {
      const all = [...services.values()].flatMap((s) => s.deployments.map((d) => ({ s, d })));
      const wanted = all.filter(({ d }) => (input.serviceDeploymentArns as string[]).includes(d.arn));
      return { serviceDeployments: wanted.map(({ s, d }) => deploymentView(s, d)), failures: [] };
    },
  };
  return ops;
}
