import {
  CreateExpressGatewayServiceCommand,
  DeleteExpressGatewayServiceCommand,
  DescribeExpressGatewayServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  type ECSExpressGatewayService,
  type ExpressGatewayContainer,
  type ServiceDeployment,
  UpdateExpressGatewayServiceCommand,
} from '@aws-sdk/client-ecs';
import type Docker from 'dockerode';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import { type AwsRackBase, awsClientOptions, awsTransient, EcrPushAuth } from './aws-common.ts';
import { CloudRack, cloudServiceName, instanceFromUrl, pollUntil, pushRelease, withRetries } from './cloud-common.ts';
import type { ReleaseSpec } from './rack.ts';

interface EcsExpressRackConfig extends AwsRackBase {
  /** The role ECS creates and manages the load balancer, target groups, security groups and scaling with. */
  infrastructureRoleArn: string;
  /** The task execution role: pulls the image from ECR, writes logs. */
  executionRoleArn: string;
  /** The cluster services go into; ECS's `default` when unset. */
  cluster?: string;
  /** An emulator's http://host:port; production talks to ECS's regional endpoint. */
  endpoint?: string;
}

const CONTAINER_PORT = 8080;
const POLL_MS = 300;
/** Service deployment states that mean the new revision will never serve (ECS rolled back or stopped it). */
const FAILED = new Set(['ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED', 'ROLLBACK_IN_PROGRESS', 'STOPPED', 'STOP_REQUESTED']);

/** What one deploy asked ECS for: the service, and the deployment it ran before (none for a new service). */
interface Deploying {
  serviceArn: string;
  revisionArn: string | undefined;
  before: string | undefined;
}

/**
 * An ECS Express Mode region as a rack (AWS's successor to App Runner): one Express service
 * per app environment, updated in place. ECS rolls a failed deployment back on its own, so
 * success is read back from the service's current deployment, not from the update's answer.
 */
export class EcsExpressRack extends CloudRack {
  private readonly client: ECSClient;
  private readonly ecr: EcrPushAuth;

  constructor(
    private readonly config: EcsExpressRackConfig,
    private readonly docker: Docker,
  ) {
    super();
    this.client = new ECSClient(awsClientOptions(config, config.endpoint));
    this.ecr = new EcrPushAuth(config);
  }

  get name(): string {
    return this.config.name;
  }

  private get where(): string {
    return `ECS Express in ${this.config.region}`;
  }

  private call<T>(what: string, log: BuildLog, fn: () => Promise<T>): Promise<T> {
    return withRetries(`${this.where}: ${what}`, awsTransient, log, fn).catch((err) => {
      throw new WidemeshError(
        awsTransient(err) ? 'ECS_EXPRESS_UNAVAILABLE' : 'ECS_EXPRESS_REFUSED',
        `${this.where} refused ${what}: ${errorMessage(err)}`,
      );
    });
  }

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    this.noteWebOnly(spec, log);
    const image = await pushRelease(this.docker, this.config.registry, spec, await this.ecr.get(log), log);
    const serviceName = cloudServiceName(spec.app, spec.environment);
    const existing = await this.findService(serviceName, log);
    const deploying = existing
      ? await this.update(existing, spec, image, log)
      : await this.create(serviceName, spec, image, log);
    try {
      const { service, deployment } = await this.waitForDeployment(deploying, log);
      const url = this.endpointOf(service, deployment);
      log.info(`serves ${url}`);
      return [instanceFromUrl(`${deploying.serviceArn}#${deployment.serviceDeploymentArn}`, url)];
    } catch (err) {
      // a service this start created serves nothing: it goes (an update leaves ECS on the revision it ran)
      if (!existing)
        await this.deleteService(deploying.serviceArn, log).catch((e) =>
          log.error(`could not delete the service the failed deploy created: ${errorMessage(e)}`),
        );
      throw err;
    }
  }

  /**
   * The Express service (an ECS service) of this name, unless it is gone or going. A cluster that
   * does not exist yet holds none: creating the first service makes it.
   */
  private async findService(serviceName: string, log: BuildLog): Promise<string | undefined> {
    const { cluster } = this.config;
    const answer = await this.call('DescribeServices', log, () =>
      this.client
        .send(new DescribeServicesCommand({ ...(cluster ? { cluster } : {}), services: [serviceName] }))
        .catch((err: { name?: string }) => {
          if (err.name === 'ClusterNotFoundException') return { services: [] };
          throw err;
        }),
    );
    return answer.services?.find((s) => s.serviceName === serviceName && s.status === 'ACTIVE')?.serviceArn;
  }

  private container(spec: ReleaseSpec, image: string): ExpressGatewayContainer {
    const web = spec.processes.web;
    const environment = { PORT: String(CONTAINER_PORT), ...spec.config };
    return {
      image,
      containerPort: CONTAINER_PORT,
      environment: Object.entries(environment).map(([name, value]) => ({ name, value })),
      ...(web ? { command: ['/bin/sh', '-c', web] } : {}),
    };
  }

  /** Health check path, size and task count, from app.json and the formation. */
  private sizing(spec: ReleaseSpec) {
    const path = spec.healthchecks.web?.find((c) => c.path)?.path ?? '/';
    const { cpus, memoryMb } = spec.resources.web ?? {};
    const tasks = Math.max(1, spec.formation.web ?? 1);
    return {
      healthCheckPath: path,
      ...(cpus ? { cpu: String(Math.round(cpus * 1024)) } : {}),
      ...(memoryMb ? { memory: String(memoryMb) } : {}),
      scalingTarget: { minTaskCount: tasks, maxTaskCount: tasks },
    };
  }

  private async create(serviceName: string, spec: ReleaseSpec, image: string, log: BuildLog): Promise<Deploying> {
    const { cluster, infrastructureRoleArn, executionRoleArn } = this.config;
    const answer = await this.call('CreateExpressGatewayService', log, () =>
      this.client.send(
        new CreateExpressGatewayServiceCommand({
          serviceName,
          ...(cluster ? { cluster } : {}),
          infrastructureRoleArn,
          executionRoleArn,
          primaryContainer: this.container(spec, image),
          ...this.sizing(spec),
          tags: [{ key: 'widemesh-release', value: `v${spec.version}` }],
        }),
      ),
    );
    const service = answer.service!;
    return {
      serviceArn: service.serviceArn!,
      revisionArn: service.activeConfigurations?.[0]?.serviceRevisionArn,
      before: undefined,
    };
  }

  private async update(serviceArn: string, spec: ReleaseSpec, image: string, log: BuildLog): Promise<Deploying> {
    const before = (await this.describe(serviceArn, log)).currentDeployment;
    const answer = await this.call('UpdateExpressGatewayService', log, () =>
      this.client.send(
        new UpdateExpressGatewayServiceCommand({
          serviceArn,
          executionRoleArn: this.config.executionRoleArn,
          primaryContainer: this.container(spec, image),
          ...this.sizing(spec),
        }),
      ),
    );
    return { serviceArn, revisionArn: answer.service?.targetConfiguration?.serviceRevisionArn, before };
  }

  private async describe(serviceArn: string, log: BuildLog): Promise<ECSExpressGatewayService> {
    const answer = await this.call('DescribeExpressGatewayService', log, () =>
      this.client.send(new DescribeExpressGatewayServiceCommand({ serviceArn })),
    );
    return answer.service ?? {};
  }

  private async deployment(arn: string, log: BuildLog): Promise<ServiceDeployment | undefined> {
    const answer = await this.call('DescribeServiceDeployments', log, () =>
      this.client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
    );
    return answer.serviceDeployments?.[0];
  }

  /**
   * Reads the service back until its current deployment is a new one, for the revision this
   * deploy made, and has succeeded; a rollback, a stop or another deploy's revision is a failure.
   */
  private async waitForDeployment(deploying: Deploying, log: BuildLog) {
    const seconds = Math.round(this.config.timeoutMs / 1000);
    return await pollUntil(
      Date.now() + this.config.timeoutMs,
      POLL_MS,
      async () => {
        const service = await this.describe(deploying.serviceArn, log);
        const current = service.currentDeployment;
        if (!current || current === deploying.before) return undefined;
        const deployment = await this.deployment(current, log);
        if (!deployment) return undefined;
        this.assertDeploying(deploying, deployment);
        const done = deployment.status === 'SUCCESSFUL' && service.status?.statusCode === 'ACTIVE';
        return done ? { service, deployment } : undefined;
      },
      () => new WidemeshError('ECS_EXPRESS_TIMEOUT', `${this.where}: the deployment did not finish within ${seconds}s`),
    );
  }

  private assertDeploying(deploying: Deploying, deployment: ServiceDeployment): void {
    const target = deployment.targetServiceRevision?.arn;
    if (deploying.revisionArn && target && target !== deploying.revisionArn)
      throw new WidemeshError(
        'ECS_EXPRESS_DEPLOY_FAILED',
        `${this.where}: another deployment (${target}) replaced this one`,
      );
    if (!FAILED.has(deployment.status ?? '')) return;
    const reason = deployment.rollback?.reason ?? deployment.statusReason ?? 'no reason given';
    throw new WidemeshError(
      'ECS_EXPRESS_DEPLOY_FAILED',
      `${this.where}: the deployment ended ${deployment.status} (${reason}); the service stays on the revision it ran before`,
    );
  }

  /** The public endpoint of the revision the deployment rolled out (endpoints carry no scheme). */
  private endpointOf(service: ECSExpressGatewayService, deployment: ServiceDeployment): string {
    const target = deployment.targetServiceRevision?.arn;
    const configuration =
      service.activeConfigurations?.find((c) => c.serviceRevisionArn === target) ?? service.activeConfigurations?.[0];
    const endpoint = configuration?.ingressPaths?.find((p) => p.accessType === 'PUBLIC')?.endpoint;
    if (!endpoint)
      throw new WidemeshError('ECS_EXPRESS_DEPLOY_FAILED', `${this.where}: the service has no public endpoint`);
    return /^https?:\/\//.test(endpoint) ? endpoint : `${this.config.serviceUrlScheme}://${endpoint}`;
  }

  /** Deleting removes the service and what ECS made for it (load balancer rule, target groups, scaling). */
  protected async deleteService(serviceArn: string, log: BuildLog): Promise<void> {
    await this.call('DeleteExpressGatewayService', log, async () => {
      try {
        await this.client.send(new DeleteExpressGatewayServiceCommand({ serviceArn }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'ServiceNotFoundException') throw err;
      }
    });
  }
}
