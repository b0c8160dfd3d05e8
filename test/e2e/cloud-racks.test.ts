import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppRunner } from '../emulators/app-runner.ts';
import { startCloudRun } from '../emulators/cloud-run.ts';
import { startRegistry } from '../emulators/registry.ts';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const AWS_SECRET = 'aws-secret-key-that-must-not-leak';

describe('cloud racks: Cloud Run (europe-west1) + App Runner (us-east-1) on emulators', () => {
  let server: TestServer;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let cloudRun: Awaited<ReturnType<typeof startCloudRun>>;
  let appRunner: Awaited<ReturnType<typeof startAppRunner>>;
  let repo: string;

  const deploy = (html: string) => {
    fs.writeFileSync(path.join(repo, 'index.html'), html);
    commitAll(repo, html);
    return push(repo, remoteUrl(server, 'globe'));
  };
  const cloudRunService = () => [...cloudRun.services.values()][0]!;
  const appRunnerService = () => [...appRunner.services.values()][0]!;
  const body = async (url: string) => (await request(url)).body;

  beforeAll(async () => {
    registry = await startRegistry(docker);
    cloudRun = await startCloudRun(docker);
    appRunner = await startAppRunner(docker);
    server = await startServer();
    repo = appRepo('static-site');
  });

  it("takes providers (credentials sealed, never shown) and an environment's racks through the API", async () => {
    const gcp = await api(server, 'PUT', '/api/providers/gcp', {
      type: 'gcp',
      project: 'widemesh-demo',
      credentials: 'none',
      endpoint: `http://127.0.0.1:${cloudRun.port}`,
      registry: `${registry.host}/gcp`,
    });
    expect(gcp.status).toBe(200);
    const aws = await api(server, 'PUT', '/api/providers/aws', {
      type: 'aws',
      accessKeyId: 'AKIDWIDEMESHTEST',
      secretAccessKey: AWS_SECRET,
      endpoint: `http://127.0.0.1:${appRunner.port}`,
      ecrEndpoint: `http://127.0.0.1:${appRunner.port}`,
      registry: `${registry.host}/aws`,
      serviceUrlScheme: 'http',
    });
    expect(aws.body).not.toContain(AWS_SECRET);
    expect((await api(server, 'PUT', '/api/providers/bad', { type: 'aws', registry: 'r' })).json.error.message).toMatch(
      /accessKeyId and secretAccessKey are required/,
    );
    expect((await api(server, 'GET', '/api/providers')).json).toEqual([
      { name: 'aws', type: 'aws', environments: 0 },
      { name: 'gcp', type: 'gcp', environments: 0 },
    ]);
    expect((await api(server, 'POST', '/api/apps', { name: 'globe' })).status).toBe(201);
    const one = await api(server, 'PUT', '/api/apps/globe/racks', {
      racks: [{ kind: 'cloud-run', provider: 'gcp', location: 'europe-west1' }],
    });
    expect(one.json.error.message).toMatch(/at least two racks/);
    const missing = await api(server, 'PUT', '/api/apps/globe/racks', {
      racks: [
        { kind: 'cloud-run', provider: 'nope', location: 'x' },
        { kind: 'local', name: 'local-a' },
      ],
    });
    expect(missing.status).toBe(400);
    const set = await api(server, 'PUT', '/api/apps/globe/racks', {
      racks: [
        { kind: 'cloud-run', provider: 'gcp', location: 'europe-west1' },
        { kind: 'app-runner', provider: 'aws', region: 'us-east-1' },
      ],
      rollout: 'sequential',
    });
    expect(set.json.rollout).toBe('sequential');
    expect(set.json.racks).toEqual([
      { name: 'europe-west1', kind: 'cloud-run' },
      { name: 'us-east-1', kind: 'app-runner' },
    ]);
    expect((await api(server, 'DELETE', '/api/providers/aws')).status).toBe(409);
  });

  afterAll(async () => {
    await server?.stop();
    // the emulators' containers run the app's images: stop them before the images go
    await cloudRun?.close();
    await appRunner?.close();
    await server?.cleanup();
    await registry?.stop();
  });

  it('rolls a push out to both clouds, records their URLs, and routes to them', async () => {
    const result = await deploy('<h1>v1</h1>');
    expect(result.output).toContain('Releasing v1 to europe-west1');
    expect(result.output).toContain('Releasing v1 to us-east-1');
    expect(result.code).toBe(0);
    const second = await deploy('<h1>v2</h1>');
    expect(second.code).toBe(0);
    expect(cloudRunService().image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(cloudRunService().state).toBe('CONDITION_SUCCEEDED');
    expect(cloudRunService().public).toBe(true);
    expect(appRunnerService().status).toBe('RUNNING');
    // the push credentials came from ECR's GetAuthorizationToken, once, then were reused
    expect(appRunner.ecr.tokensIssued).toBe(1);
    expect(await body(cloudRunService().uri)).toBe('<h1>v2</h1>');
    expect(await body(`http://${appRunnerService().url}`)).toBe('<h1>v2</h1>');
    expect((await viaRouter(server, 'globe.localhost')).body).toBe('<h1>v2</h1>');
    const app = await api(server, 'GET', '/api/apps/globe');
    expect(
      app.json.environments[0].racks.map((r: { rack: string; release: number }) => `${r.rack} v${r.release}`),
    ).toEqual(['europe-west1 v2', 'us-east-1 v2']);
  });

  it('returns the first cloud to the previous release when App Runner silently rolls back', async () => {
    const before = cloudRunService().image;
    appRunner.faults.silentRollback = true;
    const result = await deploy('<h1>v3 never lands</h1>');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('ROLLBACK_SUCCEEDED');
    expect(result.output).toContain('Returning europe-west1 to v2');
    expect(cloudRunService().image).toBe(before);
    expect(await body(cloudRunService().uri)).toBe('<h1>v2</h1>');
    expect(await body(`http://${appRunnerService().url}`)).toBe('<h1>v2</h1>');
    expect((await viaRouter(server, 'globe.localhost')).body).toBe('<h1>v2</h1>');
  });

  it('rejects a push whose Cloud Run revision never becomes ready, touching nothing else', async () => {
    const appRunnerImage = appRunnerService().image;
    cloudRun.faults.neverReady = true;
    const result = await deploy('<h1>v4 never ready</h1>');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/is not ready and cannot serve traffic/);
    expect(result.output).not.toContain('Releasing v4 to us-east-1');
    expect(appRunnerService().image).toBe(appRunnerImage);
    expect((await viaRouter(server, 'globe.localhost')).body).toBe('<h1>v2</h1>');
  });

  it("rejects a push whose image cannot reach the second rack's registry, putting the first back", async () => {
    const awsProvider = (registryHost: string) => ({
      type: 'aws',
      accessKeyId: 'AKIDWIDEMESHTEST',
      secretAccessKey: AWS_SECRET,
      endpoint: `http://127.0.0.1:${appRunner.port}`,
      registry: `${registryHost}/aws`,
      serviceUrlScheme: 'http',
      ecrEndpoint: `http://127.0.0.1:${appRunner.port}`,
    });
    expect((await api(server, 'PUT', '/api/providers/aws', awsProvider('127.0.0.1:9'))).status).toBe(200);
    const before = cloudRunService().image;
    const result = await deploy('<h1>v5 unpushable</h1>');
    expect((await api(server, 'PUT', '/api/providers/aws', awsProvider(registry.host))).status).toBe(200);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('could not push the image to 127.0.0.1:9/aws/globe');
    expect(result.output).toContain('Returning europe-west1 to v2');
    expect(cloudRunService().image).toBe(before);
    expect(await body(cloudRunService().uri)).toBe('<h1>v2</h1>');
  });

  it('puts back a rack whose deploy outlived its deadline, once its operation has ended', async () => {
    const aws = (extra: object) =>
      api(server, 'PUT', '/api/providers/aws', {
        type: 'aws',
        accessKeyId: 'AKIDWIDEMESHTEST',
        secretAccessKey: AWS_SECRET,
        endpoint: `http://127.0.0.1:${appRunner.port}`,
        registry: `${registry.host}/aws`,
        serviceUrlScheme: 'http',
        ecrEndpoint: `http://127.0.0.1:${appRunner.port}`,
        ...extra,
      });
    expect((await aws({ deployTimeoutSeconds: 2 })).status).toBe(200);
    const appRunnerBefore = appRunnerService().image;
    const cloudRunBefore = cloudRunService().image;
    appRunner.faults.slowNextMs = 5000;
    const result = await deploy('<h1>too slow</h1>');
    expect((await aws({})).status).toBe(200);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('did not finish within 2s');
    expect(result.output).toContain('Returning us-east-1 to v2');
    expect(appRunnerService().image).toBe(appRunnerBefore);
    expect(await body(`http://${appRunnerService().url}`)).toBe('<h1>v2</h1>');
    expect(cloudRunService().image).toBe(cloudRunBefore);
  });

  it('retries throttling and unavailability, then deploys', async () => {
    cloudRun.faults.transient = { count: 2, status: 503 };
    appRunner.faults.transient = { count: 2, type: 'ThrottlingException' };
    const result = await deploy('<h1>v5</h1>');
    expect(result.output).toMatch(/retrying in \d+ ms/);
    expect(result.code).toBe(0);
    expect((await viaRouter(server, 'globe.localhost')).body).toBe('<h1>v5</h1>');
  });

  it("fails fast on an authentication error with the provider's message, and puts Cloud Run back", async () => {
    appRunner.faults.denied = true;
    const result = await deploy('<h1>v6 denied</h1>');
    appRunner.faults.denied = false;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('The security token included in the request is invalid');
    expect(result.output).not.toMatch(/ListServices: .*retrying/);
    expect(await body(cloudRunService().uri)).toBe('<h1>v5</h1>');
  });

  it('rolls out to both clouds at once when the environment asks for a parallel rollout', async () => {
    const set = await api(server, 'PUT', '/api/apps/globe/racks', {
      racks: [
        { kind: 'cloud-run', provider: 'gcp', location: 'europe-west1' },
        { kind: 'app-runner', provider: 'aws', region: 'us-east-1' },
      ],
      rollout: 'parallel',
    });
    expect(set.json.rollout).toBe('parallel');
    const result = await deploy('<h1>v8 parallel</h1>');
    expect(result.code).toBe(0);
    expect(await body(cloudRunService().uri)).toBe('<h1>v8 parallel</h1>');
    expect(await body(`http://${appRunnerService().url}`)).toBe('<h1>v8 parallel</h1>');
  });

  it('never shows provider credentials in logs, API answers or the database', async () => {
    const builds = (await api(server, 'GET', '/api/apps/globe/builds')).json as { id: number }[];
    for (const build of builds)
      expect((await api(server, 'GET', `/api/apps/globe/builds/${build.id}/log`)).body).not.toContain(AWS_SECRET);
    expect((await api(server, 'GET', '/api/apps/globe')).body).not.toContain(AWS_SECRET);
    expect((await api(server, 'GET', '/api/providers')).body).not.toContain(AWS_SECRET);
    expect((await api(server, 'GET', '/api/apps/globe/racks')).body).not.toContain(AWS_SECRET);
    for (const file of fs.readdirSync(server.dataDir).filter((f) => f.startsWith('widemesh.db'))) {
      expect(fs.readFileSync(path.join(server.dataDir, file)).includes(AWS_SECRET)).toBe(false);
    }
    expect(server.output()).not.toContain(AWS_SECRET);
  });
});
