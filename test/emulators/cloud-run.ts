import crypto from 'node:crypto';
import http from 'node:http';
import type Docker from 'dockerode';
import { LocalServiceHost, listenEmulator } from './backing.ts';

/** Faults the next calls run into. */
interface CloudRunFaults {
  /** The next N requests answer 503 (or 429) before being handled. */
  transient?: { count: number; status: 503 | 429 };
  /** Every request is refused as unauthenticated. */
  denied?: boolean;
  /** The next deploy's revision never becomes ready. */
  neverReady?: boolean;
  /** The next operation takes this long before it runs. */
  slowNextMs?: number;
}

interface ServiceState {
  name: string;
  image: string;
  env: Record<string, string>;
  generation: number;
  latestCreatedRevision: string;
  latestReadyRevision: string;
  state: 'CONDITION_SUCCEEDED' | 'CONDITION_FAILED' | 'CONDITION_RECONCILING';
  message: string;
  uri: string;
  reconciling: boolean;
  public: boolean;
}

/**
 * The Cloud Run Admin API v2 as its REST clients see it (fallback transport): services,
 * long-running operations and IAM, with revisions really running on the local Docker.
 */
export async function startCloudRun(docker: Docker) {
  const host = new LocalServiceHost(docker, 'widemesh-emulator.cloud-run');
  const services = new Map<string, ServiceState>();
  const operations = new Map<string, Record<string, unknown>>();
  const faults: CloudRunFaults = {};
  let revisionCounter = 0;

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code: status, message, status: code, details: [] } });
  const view = (s: ServiceState) => ({
    '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
    name: s.name,
    uri: s.uri,
    generation: String(s.generation),
    observedGeneration: String(s.generation),
    reconciling: s.reconciling,
    latestCreatedRevision: s.latestCreatedRevision,
    latestReadyRevision: s.latestReadyRevision,
    terminalCondition: { type: 'Ready', state: s.state, message: s.message },
    template: {
      containers: [{ image: s.image, env: Object.entries(s.env).map(([name, value]) => ({ name, value })) }],
    },
    invokerIamDisabled: s.public,
  });

  function deploy(name: string, body: any, location: string): Record<string, unknown> {
    const container = body?.template?.containers?.[0] ?? {};
    const env = Object.fromEntries(
      (container.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const existing = services.get(name);
    const state: ServiceState = existing ?? {
      name,
      image: '',
      env: {},
      generation: 0,
      latestCreatedRevision: '',
      latestReadyRevision: '',
      state: 'CONDITION_RECONCILING',
      message: '',
      uri: '',
      reconciling: true,
      public: false,
    };
    services.set(name, state);
    state.generation += 1;
    state.reconciling = true;
    const revision = `${name}/revisions/${name.split('/').pop()}-${String(++revisionCounter).padStart(5, '0')}`;
    state.latestCreatedRevision = revision;
    if (body?.invokerIamDisabled) state.public = true;
    const opName = `projects/${name.split('/')[1]}/locations/${location}/operations/${crypto.randomUUID()}`;
    const op: Record<string, unknown> = { name: opName, done: false, metadata: view(state) };
    operations.set(opName, op);
    const neverReady = faults.neverReady;
    faults.neverReady = false;
    void (async () => {
      const slow = faults.slowNextMs;
      faults.slowNextMs = undefined;
      if (slow) await new Promise((r) => setTimeout(r, slow));
      try {
        if (neverReady)
          throw new Error(
            `Revision '${revision.split('/').pop()}' is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT environment variable.`,
          );
        await host.runRevision(name, container.image, env, 20_000);
        Object.assign(state, {
          image: container.image,
          env,
          latestReadyRevision: revision,
          state: 'CONDITION_SUCCEEDED',
          message: '',
          uri: await host.url(name),
          reconciling: false,
        });
        Object.assign(op, { done: true, response: view(state), metadata: view(state) });
      } catch (err) {
        Object.assign(state, { state: 'CONDITION_FAILED', message: (err as Error).message, reconciling: false });
        Object.assign(op, { done: true, error: { code: 9, message: (err as Error).message }, metadata: view(state) });
      }
    })();
    return op;
  }

  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (faults.denied)
      return fail(
        res,
        403,
        'PERMISSION_DENIED',
        "Permission 'run.services.update' denied on resource (or it may not exist).",
      );
    if (faults.transient && faults.transient.count > 0) {
      faults.transient.count -= 1;
      return fail(
        res,
        faults.transient.status,
        faults.transient.status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
        'try again',
      );
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const body = raw ? JSON.parse(raw) : undefined;
    const operation = /^\/v2\/(projects\/[^/]+\/locations\/([^/]+)\/operations\/[^/]+)$/.exec(url.pathname);
    if (operation) {
      const op = operations.get(operation[1]!);
      return op ? send(res, 200, op) : fail(res, 404, 'NOT_FOUND', 'no such operation');
    }
    const create = /^\/v2\/(projects\/[^/]+\/locations\/([^/]+))\/services$/.exec(url.pathname);
    if (create && req.method === 'POST') {
      const name = `${create[1]}/services/${url.searchParams.get('serviceId')}`;
      if (services.has(name)) return fail(res, 409, 'ALREADY_EXISTS', `Resource '${name}' already exists.`);
      return send(res, 200, deploy(name, body, create[2]!));
    }
    const m = /^\/v2\/(projects\/[^/]+\/locations\/([^/]+)\/services\/[^/:]+)(:setIamPolicy|:getIamPolicy)?$/.exec(
      url.pathname,
    );
    if (m) {
      const name = m[1]!;
      const service = services.get(name);
      if (m[3] === ':setIamPolicy') {
        if (!service) return fail(res, 404, 'NOT_FOUND', 'no such service');
        service.public = (body?.policy?.bindings ?? []).some(
          (b: { role: string; members: string[] }) => b.role === 'roles/run.invoker' && b.members.includes('allUsers'),
        );
        return send(res, 200, { version: 1, bindings: body?.policy?.bindings ?? [], etag: 'BwY=' });
      }
      if (m[3] === ':getIamPolicy') return send(res, 200, { version: 1, bindings: [], etag: 'BwY=' });
      if (req.method === 'GET')
        return service
          ? send(res, 200, view(service))
          : fail(res, 404, 'NOT_FOUND', `Resource '${name}' does not exist.`);
      if (req.method === 'PATCH') {
        if (!service && url.searchParams.get('allowMissing') !== 'true')
          return fail(res, 404, 'NOT_FOUND', `Resource '${name}' does not exist.`);
        return send(res, 200, deploy(name, body, m[2]!));
      }
      if (req.method === 'DELETE') {
        services.delete(name);
        await host.remove(name);
        return send(res, 200, {
          name: `projects/x/locations/${m[2]}/operations/del`,
          done: true,
          response: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', name },
        });
      }
    }
    fail(res, 404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
  });
  return await listenEmulator(server, host, faults, services);
}
