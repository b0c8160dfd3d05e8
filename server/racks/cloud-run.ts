import { v2 } from '@google-cloud/run';
import type Docker from 'dockerode';
import { GoogleAuth, PassThroughClient } from 'google-auth-library';
import { createBackoffSettings } from 'google-gax';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Instance } from '../store/index.ts';
import {
  CloudRack,
  cloudServiceName,
  instanceFromUrl,
  isTransientFailure,
  pushRelease,
  type RegistryAuth,
  withRetries,
} from './cloud-common.ts';
import type { ReleaseSpec } from './rack.ts';

interface CloudRunRackConfig {
  name: string;
  project: string;
  location: string;
  /** Where images go, e.g. europe-west1-docker.pkg.dev/PROJECT/widemesh. */
  registry: string;
  /** A service account key (JSON) — or, only with an explicit endpoint, 'none' for an emulator. */
  credentials: { client_email: string; private_key: string } | 'none';
  /** An emulator's http://host:port; production talks to run.googleapis.com. */
  endpoint?: string;
  /** How long a deploy may take before it counts as failed. */
  timeoutMs: number;
}

const CONTAINER_PORT = 8080;

/** HTTP status (REST transport errors are GaxiosErrors carrying it) → whether trying again can help. */
function transient(err: unknown): boolean {
  const e = err as { status?: number; code?: number | string; response?: { status?: number } };
  const status = e.status ?? e.response?.status ?? (typeof e.code === 'number' ? e.code : undefined);
  return isTransientFailure(status, e.code) || e.code === 14; // 14: gRPC UNAVAILABLE
}

/** The provider's own words: REST errors carry the Google JSON error body as their message. */
function providerMessage(err: unknown): string {
  const message = errorMessage(err);
  try {
    return JSON.parse(message)?.error?.message ?? message;
  } catch {
    return message;
  }
}

/** A Cloud Run (v2 Admin API) location as a rack: one service per app environment, updated in place. */
export class CloudRunRack extends CloudRack {
  private readonly client: v2.ServicesClient;
  private readonly auth?: GoogleAuth;

  constructor(
    private readonly config: CloudRunRackConfig,
    private readonly docker: Docker,
  ) {
    super();
    const endpoint = config.endpoint ? new URL(config.endpoint) : undefined;
    if (config.credentials === 'none' && !endpoint)
      throw new WidemeshError(
        'RACK_CONFIG',
        `rack ${config.name}: Cloud Run needs credentials (a service account key)`,
      );
    this.auth =
      config.credentials === 'none'
        ? undefined
        : new GoogleAuth({
            credentials: config.credentials,
            scopes: ['https://www.googleapis.com/auth/cloud-platform'],
          });
    this.client = new v2.ServicesClient({
      fallback: true, // REST: the same transport and error shapes in production and against the emulator
      ...(endpoint
        ? { apiEndpoint: endpoint.hostname, port: Number(endpoint.port), protocol: endpoint.protocol.replace(':', '') }
        : {}),
      // google-gax bundles its own google-auth-library: the types differ, the object works
      ...(config.credentials === 'none'
        ? { authClient: new PassThroughClient() as never }
        : { credentials: config.credentials, projectId: config.project }),
    });
  }

  get name(): string {
    return this.config.name;
  }

  private serviceName(spec: Pick<ReleaseSpec, 'app' | 'environment'>): string {
    return `projects/${this.config.project}/locations/${this.config.location}/services/${cloudServiceName(spec.app, spec.environment)}`;
  }

  private async registryAuth(): Promise<RegistryAuth | undefined> {
    if (!this.auth) return undefined;
    const token = await this.auth.getAccessToken();
    return { username: 'oauth2accesstoken', password: token ?? '', serveraddress: this.config.registry.split('/')[0]! };
  }

  async start(spec: ReleaseSpec, log: BuildLog): Promise<Instance[]> {
    const where = `${this.config.location} (cloud-run)`;
    this.noteWebOnly(spec, log);
    const image = await pushRelease(this.docker, this.config.registry, spec, await this.registryAuth(), log);
    const name = this.serviceName(spec);
    const web = spec.processes.web;
    const service = {
      name,
      invokerIamDisabled: true, // public endpoint, the way Cloud Run recommends
      template: {
        containers: [
          {
            image,
            ports: [{ containerPort: CONTAINER_PORT }],
            env: Object.entries(spec.config).map(([key, value]) => ({ name: key, value })),
            ...(web ? { command: ['/bin/sh'], args: ['-c', web] } : {}),
          },
        ],
        labels: { 'widemesh-release': `v${spec.version}` },
      },
    };
    try {
      const [operation] = await withRetries(`Cloud Run in ${where}`, transient, log, () =>
        this.client.updateService(
          { service, allowMissing: true },
          { longrunning: createBackoffSettings(200, 1.5, 5000, null, null, null, this.config.timeoutMs) },
        ),
      );
      await operation.promise();
    } catch (err) {
      // code 4: the operation outlived our deadline; it may still finish
      const code =
        (err as { code?: number }).code === 4
          ? 'CLOUD_RUN_TIMEOUT'
          : transient(err)
            ? 'CLOUD_RUN_UNAVAILABLE'
            : 'CLOUD_RUN_DEPLOY_FAILED';
      throw new WidemeshError(code, `Cloud Run in ${where}: ${providerMessage(err)}`);
    }
    // the operation's end is not proof: the service must be settled on the revision just created
    const [current] = await withRetries(`Cloud Run in ${where}`, transient, log, () =>
      this.client.getService({ name }),
    );
    const ready =
      !current.reconciling &&
      current.terminalCondition?.state === 'CONDITION_SUCCEEDED' &&
      current.latestReadyRevision === current.latestCreatedRevision;
    if (!ready || !current.uri) {
      throw new WidemeshError(
        'CLOUD_RUN_UNVERIFIED',
        `Cloud Run in ${where} did not confirm the new revision (${current.terminalCondition?.state}: ${current.terminalCondition?.message ?? 'no message'})`,
      );
    }
    log.info(`${current.latestReadyRevision?.split('/').pop()} serves ${current.uri}`);
    return [instanceFromUrl(`${name}#${current.latestReadyRevision}`, current.uri)];
  }

  protected async deleteService(serviceName: string): Promise<void> {
    const [operation] = await this.client.deleteService({ name: serviceName });
    await operation.promise();
  }
}
