import {
  AppRunnerClient,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServiceCommand,
  ListOperationsCommand,
  ListServicesCommand,
  type SourceConfiguration,
  UpdateServiceCommand,
} from '@aws-sdk/client-apprunner';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type Docker from 'dockerode';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import {
  CloudRack,
  cloudServiceName,
  instanceFromUrl,
  isTransientFailure,
  pollUntil,
  pushImage,
  type RegistryAuth,
  withRetries,
} from './cloud-common.ts';
import type { ReleaseSpec } from './rack.ts';

export interface AppRunnerRackConfig {
  name: string;
  region: string;
  /** ECR repository prefix, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/widemesh. */
  registry: string;
  /** Static registry credentials; without them an ECR token is fetched with the provider's keys. */
  registryAuth?: RegistryAuth;
  /** An emulator's ECR API endpoint. */
  ecrEndpoint?: string;
  /** The role App Runner assumes to pull from private ECR. */
  accessRoleArn?: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** An emulator's http://host:port; production talks to App Runner's regional endpoint. */
  endpoint?: string;
  /** ServiceUrl carries no scheme; App Runner serves https (an emulator may say http). */
  serviceUrlScheme: 'https' | 'http';
  timeoutMs: number;
}

const CONTAINER_PORT = '8080';
const POLL_MS = 300;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ROLLBACK_SUCCEEDED', 'ROLLBACK_FAILED']);

const THROTTLED = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServiceErrorException',
  'ServiceUnavailableException',
]);

function transient(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
  return (
    THROTTLED.has(e.name ?? '') || isTransientFailure(e.$metadata?.httpStatusCode, e.code) || Boolean(e.$retryable)
  );
}

/**
 * An App Runner region as a rack. App Runner reports a failed deployment as a silent
 * rollback while the service stays RUNNING, so success is read from the operation itself.
 * (App Runner takes no new AWS customers since 2026; existing accounts only.)
 */
export class AppRunnerRack extends CloudRack {
  private readonly client: AppRunnerClient;
  private readonly ecr: ECRClient;
  private ecrToken?: { auth: RegistryAuth; renewAt: number };

  constructor(
    private readonly config: AppRunnerRackConfig,
    private readonly docker: Docker,
  ) {
    super();
    this.client = new AppRunnerClient({
      region: config.region,
      credentials: config.credentials, // explicit: the SDK never goes looking in the environment or IMDS
      maxAttempts: 1, // retries are ours (bounded, logged)
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
    this.ecr = new ECRClient({
      region: config.region,
      credentials: config.credentials,
      maxAttempts: 1,
      ...(config.ecrEndpoint ? { endpoint: config.ecrEndpoint } : {}),
    });
  }

  /** ECR push credentials: GetAuthorizationToken gives base64 "AWS:password", valid 12 h; renewed an hour early. */
  private async registryAuth(log: BuildLog): Promise<RegistryAuth> {
    if (this.config.registryAuth) return this.config.registryAuth;
    if (this.ecrToken && Date.now() < this.ecrToken.renewAt) return this.ecrToken.auth;
    const answer = await withRetries(`ECR in ${this.config.region}: GetAuthorizationToken`, transient, log, () =>
      this.ecr.send(new GetAuthorizationTokenCommand({})),
    ).catch((err) => {
      throw new WidemeshError('ECR_REFUSED', `ECR in ${this.config.region} refused a push token: ${errorMessage(err)}`);
    });
    const data = answer.authorizationData?.[0];
    const [username, password] = Buffer.from(data?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .split(':');
    if (!username || !password)
      throw new WidemeshError('ECR_REFUSED', `ECR in ${this.config.region} returned no usable push token`);
    const auth = { username, password, serveraddress: this.config.registry.split('/')[0]! };
    const expires = data?.expiresAt?.getTime() ?? Date.now() + 12 * 3600_000;
    this.ecrToken = { auth, renewAt: expires - 3600_000 };
    return auth;
  }

  get name(): string {
    return this.config.name;
  }

  private call<T>(what: string, log: BuildLog, fn: () => Promise<T>): Promise<T> {
    return withRetries(`App Runner in ${this.config.region}: ${what}`, transient, log, fn).catch((err) => {
      throw new WidemeshError(
        transient(err) ? 'APP_RUNNER_UNAVAILABLE' : 'APP_RUNNER_REFUSED',
        `App Runner in ${this.config.region} refused ${what}: ${errorMessage(err)}`,
      );
    });
  }

  private async findService(serviceName: string, log: BuildLog): Promise<string | undefined> {
    let NextToken: string | undefined;
    do {
      const page = await this.call('ListServices', log, () => this.client.send(new ListServicesCommand({ NextToken })));
      const found = page.ServiceSummaryList?.find((s) => s.ServiceName === serviceName && s.Status !== 'DELETED');
      if (found) return found.ServiceArn;
      NextToken = page.NextToken;
    } while (NextToken);
    return undefined;
  }

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    this.noteWebOnly(spec, log);
    const image = await pushImage(
      this.docker,
      spec.image,
      `${this.config.registry}/${spec.app}:${spec.environment}-v${spec.version}`,
      await this.registryAuth(log),
      log,
    );
    log.info(`pushed ${image}`);
    const serviceName = cloudServiceName(spec.app, spec.environment);
    const source: SourceConfiguration = {
      AutoDeploymentsEnabled: false,
      ImageRepository: {
        ImageIdentifier: image,
        ImageRepositoryType: 'ECR',
        ImageConfiguration: {
          Port: CONTAINER_PORT,
          RuntimeEnvironmentVariables: spec.config,
          ...(spec.processes.web ? { StartCommand: spec.processes.web } : {}),
        },
      },
      ...(this.config.accessRoleArn
        ? { AuthenticationConfiguration: { AccessRoleArn: this.config.accessRoleArn } }
        : {}),
    };
    const arn = await this.findService(serviceName, log);
    if (arn) await this.waitIdle(arn, log);
    const started = arn
      ? await this.call('UpdateService', log, () =>
          this.client.send(new UpdateServiceCommand({ ServiceArn: arn, SourceConfiguration: source })),
        )
      : await this.call('CreateService', log, () =>
          this.client.send(new CreateServiceCommand({ ServiceName: serviceName, SourceConfiguration: source })),
        );
    const serviceArn = started.Service!.ServiceArn!;
    const outcome = await this.waitForOperation(serviceArn, started.OperationId!, log);
    const service = (
      await this.call('DescribeService', log, () =>
        this.client.send(new DescribeServiceCommand({ ServiceArn: serviceArn })),
      )
    ).Service!;
    if (outcome !== 'SUCCEEDED' || service.Status !== 'RUNNING') {
      const rolledBack =
        outcome === 'ROLLBACK_SUCCEEDED' ? ' (App Runner rolled the service back to the version it ran before)' : '';
      throw new WidemeshError(
        'APP_RUNNER_DEPLOY_FAILED',
        `App Runner in ${this.config.region}: the deployment ended ${outcome}, service ${service.Status}${rolledBack}`,
      );
    }
    const url = `${this.config.serviceUrlScheme}://${service.ServiceUrl}`;
    log.info(`serves ${url}`);
    return [instanceFromUrl(`${serviceArn}#${started.OperationId}`, url)];
  }

  private operations(serviceArn: string, log: BuildLog) {
    return this.call('ListOperations', log, () =>
      this.client.send(new ListOperationsCommand({ ServiceArn: serviceArn, MaxResults: 20 })),
    ).then((answer) => answer.OperationSummaryList ?? []);
  }

  private timeout(message: string) {
    return () => new WidemeshError('APP_RUNNER_TIMEOUT', `App Runner in ${this.config.region}: ${message}`);
  }

  private async waitForOperation(serviceArn: string, operationId: string, log: BuildLog): Promise<string> {
    const within = `the deployment did not finish within ${Math.round(this.config.timeoutMs / 1000)}s`;
    return await pollUntil(
      Date.now() + this.config.timeoutMs,
      POLL_MS,
      async () => {
        const status = (await this.operations(serviceArn, log)).find((o) => o.Id === operationId)?.Status;
        return status && TERMINAL.has(status) ? status : undefined;
      },
      this.timeout(within),
    );
  }

  /** App Runner refuses an update while an operation runs; one a timed-out deploy left gets at least a minute. */
  private async waitIdle(serviceArn: string, log: BuildLog): Promise<void> {
    await pollUntil(
      Date.now() + Math.max(this.config.timeoutMs, 60_000),
      POLL_MS,
      async () =>
        (await this.operations(serviceArn, log)).some((o) => o.Status && !TERMINAL.has(o.Status)) ? undefined : true,
      this.timeout('an earlier operation is still running'),
    );
  }

  protected async deleteService(serviceArn: string, log: BuildLog): Promise<void> {
    await this.call('DeleteService', log, () => this.client.send(new DeleteServiceCommand({ ServiceArn: serviceArn })));
  }
}
