import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { BuildLog } from '../logs/index.ts';
import { isTransientFailure, type RegistryAuth, withRetries } from './cloud-common.ts';

/** What every AWS rack takes from its provider. */
export interface AwsRackBase {
  name: string;
  region: string;
  /** ECR repository prefix, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/widemesh. */
  registry: string;
  /** Static registry credentials; without them an ECR token is fetched with the provider's keys. */
  registryAuth?: RegistryAuth;
  /** An emulator's ECR API endpoint. */
  ecrEndpoint?: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Service URLs carry no scheme; AWS serves https (an emulator may say http). */
  serviceUrlScheme: 'https' | 'http';
  timeoutMs: number;
}

/**
 * SDK client settings: explicit credentials (the SDK never goes looking in the environment or
 * IMDS) and no SDK retries (retries are ours: bounded and logged).
 */
export function awsClientOptions(config: AwsRackBase, endpoint: string | undefined) {
  return {
    region: config.region,
    credentials: config.credentials,
    maxAttempts: 1,
    ...(endpoint ? { endpoint } : {}),
  };
}

const THROTTLED = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServiceErrorException',
  'ServiceUnavailableException',
  'ServerException',
]);

/** Throttling, a server-side failure or a dropped connection, as the AWS SDK reports them. */
export function awsTransient(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
  return (
    THROTTLED.has(e.name ?? '') || isTransientFailure(e.$metadata?.httpStatusCode, e.code) || Boolean(e.$retryable)
  );
}

/** ECR push credentials: GetAuthorizationToken gives base64 "AWS:password", valid 12 h; renewed an hour early. */
export class EcrPushAuth {
  private readonly ecr: ECRClient;
  private token?: { auth: RegistryAuth; renewAt: number };

  constructor(private readonly config: AwsRackBase) {
    this.ecr = new ECRClient(awsClientOptions(config, config.ecrEndpoint));
  }

  async get(log: BuildLog): Promise<RegistryAuth> {
    const { region, registry, registryAuth } = this.config;
    if (registryAuth) return registryAuth;
    if (this.token && Date.now() < this.token.renewAt) return this.token.auth;
    const answer = await withRetries(`ECR in ${region}: GetAuthorizationToken`, awsTransient, log, () =>
      this.ecr.send(new GetAuthorizationTokenCommand({})),
    ).catch((err) => {
      throw new WidemeshError('ECR_REFUSED', `ECR in ${region} refused a push token: ${errorMessage(err)}`);
    });
    const data = answer.authorizationData?.[0];
    const [username, password] = Buffer.from(data?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .split(':');
    if (!username || !password)
      throw new WidemeshError('ECR_REFUSED', `ECR in ${region} returned no usable push token`);
    const auth = { username, password, serveraddress: registry.split('/')[0]! };
    const expires = data?.expiresAt?.getTime() ?? Date.now() + 12 * 3600_000;
    this.token = { auth, renewAt: expires - 3600_000 };
    return auth;
  }
}
