import crypto from 'node:crypto';
import http from 'node:http';
import type Docker from 'dockerode';
import { answerEcrToken, LocalServiceHost, listenEmulator } from './backing.ts';

interface AppRunnerFaults {
  /** The next N requests fail with a retryable error. */
  transient?: { count: number; type: 'ThrottlingException' | 'InternalServiceErrorException' };
  /** Every request is refused as unauthenticated. */
  denied?: boolean;
  /** The next update's deployment fails and App Runner silently rolls back (service stays RUNNING). */
  silentRollback?: boolean;
  /** The next operation takes this long before it runs. */
  slowNextMs?: number;
}

interface Operation {
  Id: string;
  Type: string;
  Status: string;
  TargetArn: string;
  StartedAt: number;
  EndedAt?: number;
  UpdatedAt: number;
}
interface ServiceState {
  arn: string;
  name: string;
  image: string;
  env: Record<string, string>;
  status: string;
  url: string;
  operations: Operation[];
}

const now = () => Date.now() / 1000;

/**
 * AWS App Runner's awsJson1_0 protocol (POST / with X-Amz-Target), services running on the
 * local Docker; it also answers ECR's GetAuthorizationToken (awsJson1_1) for image pushes.
 */
export async function startAppRunner(docker: Docker) {
  const host = new LocalServiceHost(docker, 'widemesh-emulator.app-runner');
  const services = new Map<string, ServiceState>();
  const faults: AppRunnerFaults = {};
  const ecr = { tokensIssued: 0 };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': crypto.randomUUID() });
    res.end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, type: string, message: string, status = 400) =>
    send(res, status, { __type: `com.amazonaws.apprunner#${type}`, Message: message });
  const view = (s: ServiceState) => ({
    ServiceName: s.name,
    ServiceId: s.arn.split('/').pop(),
    ServiceArn: s.arn,
    ServiceUrl: s.url,
    Status: s.status,
    CreatedAt: now(),
    UpdatedAt: now(),
    SourceConfiguration: {
      ImageRepository: {
        ImageIdentifier: s.image,
        ImageRepositoryType: 'ECR',
        ImageConfiguration: { Port: '8080', RuntimeEnvironmentVariables: s.env },
      },
    },
  });

  function deploy(
    s: ServiceState,
    type: 'CREATE_SERVICE' | 'UPDATE_SERVICE',
    image: string,
    env: Record<string, string>,
  ): string {
    const op: Operation = {
      Id: crypto.randomUUID(),
      Type: type,
      Status: 'IN_PROGRESS',
      TargetArn: s.arn,
      StartedAt: now(),
      UpdatedAt: now(),
    };
    s.operations.unshift(op);
    s.status = 'OPERATION_IN_PROGRESS';
    const rollback = faults.silentRollback && type === 'UPDATE_SERVICE';
    faults.silentRollback = false;
    void (async () => {
      const slow = faults.slowNextMs;
      faults.slowNextMs = undefined;
      if (slow) await new Promise((r) => setTimeout(r, slow));
      try {
        if (rollback) throw new Error('health check failed');
        await host.runRevision(s.arn, image, env, 20_000);
        Object.assign(s, { image, env, status: 'RUNNING', url: (await host.url(s.arn)).replace(/^http:\/\//, '') });
        Object.assign(op, { Status: 'SUCCEEDED', EndedAt: now(), UpdatedAt: now() });
      } catch {
        // a failed update rolls back to the running version; a failed create leaves an unusable service
        Object.assign(op, {
          Status: type === 'CREATE_SERVICE' ? 'FAILED' : 'ROLLBACK_SUCCEEDED',
          EndedAt: now(),
          UpdatedAt: now(),
        });
        s.status = type === 'CREATE_SERVICE' ? 'CREATE_FAILED' : 'RUNNING';
      }
    })();
    return op.Id;
  }

  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (faults.denied)
      return fail(res, 'UnrecognizedClientException', 'The security token included in the request is invalid.', 403);
    if (faults.transient && faults.transient.count > 0) {
      faults.transient.count -= 1;
      return faults.transient.type === 'ThrottlingException'
        ? fail(res, 'ThrottlingException', 'Rate exceeded')
        : fail(res, 'InternalServiceErrorException', 'internal error', 500);
    }
    if (answerEcrToken(req, res, ecr)) return;
    const target = String(req.headers['x-amz-target'] ?? '').replace(/^AppRunner\./, '');
    const input = raw ? JSON.parse(raw) : {};
    const byArn = () => services.get(input.ServiceArn);
    switch (target) {
      case 'CreateService': {
        const name = input.ServiceName as string;
        if ([...services.values()].some((s) => s.name === name))
          return fail(res, 'InvalidRequestException', `Service with the provided name already exists: ${name}`);
        const arn = `arn:aws:apprunner:us-east-1:123456789012:service/${name}/${crypto.randomBytes(16).toString('hex')}`;
        const s: ServiceState = {
          arn,
          name,
          image: '',
          env: {},
          status: 'OPERATION_IN_PROGRESS',
          url: (await host.url(arn)).replace(/^http:\/\//, ''),
          operations: [],
        };
        services.set(arn, s);
        const repo = input.SourceConfiguration?.ImageRepository ?? {};
        const OperationId = deploy(
          s,
          'CREATE_SERVICE',
          repo.ImageIdentifier,
          repo.ImageConfiguration?.RuntimeEnvironmentVariables ?? {},
        );
        return send(res, 200, { Service: view(s), OperationId });
      }
      case 'UpdateService': {
        const s = byArn();
        if (!s) return fail(res, 'ResourceNotFoundException', `Service ${input.ServiceArn} not found`);
        if (s.status === 'OPERATION_IN_PROGRESS')
          return fail(res, 'InvalidStateException', 'an operation is in progress');
        const repo = input.SourceConfiguration?.ImageRepository ?? {};
        const OperationId = deploy(
          s,
          'UPDATE_SERVICE',
          repo.ImageIdentifier ?? s.image,
          repo.ImageConfiguration?.RuntimeEnvironmentVariables ?? s.env,
        );
        return send(res, 200, { Service: view(s), OperationId });
      }
      case 'DescribeService': {
        const s = byArn();
        return s
          ? send(res, 200, { Service: view(s) })
          : fail(res, 'ResourceNotFoundException', `Service ${input.ServiceArn} not found`);
      }
      case 'ListServices':
        return send(res, 200, {
          ServiceSummaryList: [...services.values()].map((s) => ({
            ServiceName: s.name,
            ServiceArn: s.arn,
            ServiceUrl: s.url,
            Status: s.status,
          })),
        });
      case 'ListOperations': {
        const s = byArn();
        return s
          ? send(res, 200, { OperationSummaryList: s.operations.slice(0, input.MaxResults ?? 20) })
          : fail(res, 'ResourceNotFoundException', 'not found');
      }
      case 'DeleteService': {
        const s = byArn();
        if (!s) return fail(res, 'ResourceNotFoundException', 'not found');
        services.delete(s.arn);
        await host.remove(s.arn);
        return send(res, 200, { Service: { ...view(s), Status: 'DELETED' }, OperationId: crypto.randomUUID() });
      }
      default:
        return fail(res, 'InvalidRequestException', `unknown operation ${target}`);
    }
  });
  return { ...(await listenEmulator(server, host, faults, services)), ecr };
}
