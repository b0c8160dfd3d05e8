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
import type Docker from 'dockerode';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import { type AwsRackBase, awsClientOptions, awsTransient, EcrPushAuth } from './aws-common.ts';
import { CloudRack, cloudServiceName, instanceFromUrl, pollUntil, pushRelease, withRetries } from './cloud-common.ts';
import type { ReleaseSpec } from './rack.ts';

interface AppRunnerRackConfig extends AwsRackBase {
  /** The role App Runner assumes to pull from private ECR. */
  accessRoleArn?: string;
  /** An emulator's http://host:port; production talks to App Runner's regional endpoint. */
  endpoint?: string;
}

const CONTAINER_PORT = '8080';
const POLL_MS = 300;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ROLLBACK_SUCCEEDED', 'ROLLBACK_FAILED']);

/**
 * An App Runner region as a rack. App Runner reports a failed deployment as a silent
 * rollback while the service stays RUNNING, so success is read from the operation itself.
 * (App Runner takes no new AWS customers since 2026; existing accounts only.)
 */
export class AppRunnerRack extends CloudRack {
  private readonly client: AppRunnerClient;
  private readonly ecr: EcrPushAuth;

  constructor(
    private readonly config: AppRunnerRackConfig,
    private readonly docker: Docker,
  ) {
    super();
    this.client = new AppRunnerClient(awsClientOptions(config, config.endpoint));
    this.ecr = new EcrPushAuth(config);
  }

  get name(): string {
    return this.config.name;
  }

  private call<T>(what: string, log: BuildLog, fn: () => Promise<T>): Promise<T> {
    return withRetries(`App Runner in ${this.config.region}: ${what}`, awsTransient, log, fn).catch((err) => {
      throw new WidemeshError(
        awsTransient(err) ? 'APP_RUNNER_UNAVAILABLE' : 'APP_RUNNER_REFUSED',
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
    const image = await pushRelease(this.docker, this.config.registry, spec, await this.ecr.get(log), log);
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
