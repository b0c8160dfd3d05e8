import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEcsExpress } from '../emulators/ecs-express.ts';
import { startRegistry } from '../emulators/registry.ts';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const AWS_SECRET = 'ecs-secret-key-that-must-not-leak';
const ROLES = {
  infrastructureRoleArn: 'arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
};

describe('ECS Express rack (us-east-1, on an emulator) next to a local rack', () => {
  let server: TestServer;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let ecs: Awaited<ReturnType<typeof startEcsExpress>>;
  let repo: string;

  const deploy = (version: string) => {
    fs.writeFileSync(path.join(repo, 'version.txt'), version);
    commitAll(repo, version);
    return push(repo, remoteUrl(server, 'expo'));
  };
  const named = (name: string) => [...ecs.services.values()].find((s) => s.name === name)!;
  const service = () => named('wm-expo-production');
  const viaEcs = async () => (await request(`http://${service().endpoint}`)).body;
  const viaEdge = async () => (await viaRouter(server, 'expo.localhost')).body;
  const placements = async () =>
    (await api(server, 'GET', '/api/apps/expo')).json.environments[0].racks.map(
      (r: { rack: string; release: number }) => `${r.rack} v${r.release}`,
    );

  beforeAll(async () => {
    registry = await startRegistry(docker);
    ecs = await startEcsExpress(docker);
    server = await startServer();
    repo = appRepo('env-node');
  });

  afterAll(async () => {
    await server?.stop();
    await ecs?.close();
    await server?.cleanup();
    await registry?.stop();
  });

  it('takes an aws provider with its two roles and puts an environment on local-a + us-east-1 (ecs-express)', async () => {
    const provider = {
      type: 'aws',
      accessKeyId: 'AKIDWIDEMESHTEST',
      secretAccessKey: AWS_SECRET,
      ecsEndpoint: `http://127.0.0.1:${ecs.port}`,
      ecrEndpoint: `http://127.0.0.1:${ecs.port}`,
      registry: `${registry.host}/aws`,
      serviceUrlScheme: 'http',
    };
    expect((await api(server, 'PUT', '/api/providers/aws', provider)).status).toBe(200);
    expect((await api(server, 'POST', '/api/apps', { name: 'expo' })).status).toBe(201);
    const racks = [
      { kind: 'local', name: 'local-a' },
      { kind: 'ecs-express', provider: 'aws', region: 'us-east-1' },
    ];
    const roleless = await api(server, 'PUT', '/api/apps/expo/racks', { racks });
    expect(roleless.json.error.message).toMatch(/infrastructureRoleArn and executionRoleArn/);
    const saved = await api(server, 'PUT', '/api/providers/aws', { ...provider, ...ROLES });
    expect(saved.body).not.toContain(AWS_SECRET);
    const set = await api(server, 'PUT', '/api/apps/expo/racks', { racks });
    expect(set.json.racks).toEqual([
      { name: 'local-a', kind: 'local' },
      { name: 'us-east-1', kind: 'ecs-express' },
    ]);
  });

  it('rolls a first push out to both racks, creating the Express service', async () => {
    const first = await deploy('v1');
    expect(first.output).toContain('Releasing v1 to local-a');
    expect(first.output).toContain('Releasing v1 to us-east-1');
    expect(first.code).toBe(0);
    expect(service().infrastructureRoleArn).toBe(ROLES.infrastructureRoleArn);
    expect(await viaEcs()).toBe('v1 unset');
  });

  it('rolls the next push out as an update of the service, verified by reading its deployment back', async () => {
    const second = await deploy('v2');
    expect(second.code).toBe(0);
    expect(service().deployments.map((d) => d.status)).toEqual(['SUCCESSFUL', 'SUCCESSFUL']);
    expect(service().serving?.image).toMatch(new RegExp(`^${registry.host}/aws/expo@sha256:[0-9a-f]{64}$`));
    expect(service().serving).toMatchObject({ containerPort: 8080, healthCheckPath: '/', env: { PORT: '8080' } });
    expect(ecs.ecr.tokensIssued).toBe(1);
    expect(await viaEcs()).toBe('v2 unset');
    expect(await viaEdge()).toBe('v2 unset');
    expect(await placements()).toEqual(['local-a v2', 'us-east-1 v2']);
  });

  it('leaves both racks on the previous release when ECS rolls the deployment back', async () => {
    const before = service().serving?.image;
    ecs.faults.failNextDeployment = true;
    const result = await deploy('v3 never healthy');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('ROLLBACK_SUCCESSFUL');
    expect(result.output).toContain('failed the load balancer health check');
    expect(result.output).toContain('Returning local-a to v2');
    expect(service().serving?.image).toBe(before);
    expect(await viaEcs()).toBe('v2 unset');
    expect(await viaEdge()).toBe('v2 unset');
    expect(await placements()).toEqual(['local-a v2', 'us-east-1 v2']);
  });

  it('takes a config change and a rollback to the Express service', async () => {
    const changed = await api(server, 'PATCH', '/api/apps/expo/config', { GREETING: 'hola' });
    expect(changed.status).toBe(200);
    expect(service().serving?.env.GREETING).toBe('hola');
    expect(await viaEcs()).toBe('v2 hola');
    expect(await viaEdge()).toBe('v2 hola');
    const rolled = await api(server, 'POST', '/api/apps/expo/rollback', { version: 2 });
    expect(rolled.status).toBe(200);
    expect(service().serving?.env.GREETING).toBeUndefined();
    expect(await viaEcs()).toBe('v2 unset');
    expect(await viaEdge()).toBe('v2 unset');
  });

  it("deletes an environment's Express service with the environment, and only that one", async () => {
    expect((await api(server, 'POST', '/api/apps/expo/environments', { name: 'staging' })).status).toBe(201);
    const racks = [
      { kind: 'local', name: 'local-a' },
      { kind: 'ecs-express', provider: 'aws', region: 'us-east-1' },
    ];
    expect((await api(server, 'PUT', '/api/apps/expo/racks?environment=staging', { racks })).status).toBe(200);
    fs.writeFileSync(path.join(repo, 'version.txt'), 'staging');
    commitAll(repo, 'staging');
    expect((await push(repo, remoteUrl(server, 'expo'), 'HEAD:staging')).code).toBe(0);
    expect(named('wm-expo-staging').status).toBe('ACTIVE');
    expect(await (await request(`http://${named('wm-expo-staging').endpoint}`)).body).toBe('staging unset');
    expect((await api(server, 'DELETE', '/api/apps/expo/environments/staging')).status).toBe(200);
    expect(named('wm-expo-staging').status).toBe('INACTIVE');
    expect(service().status).toBe('ACTIVE');
    expect(await viaEcs()).toBe('v2 unset');
  });

  it('deletes the Express service when the app is deleted', async () => {
    const endpoint = service().endpoint;
    expect((await api(server, 'DELETE', '/api/apps/expo')).status).toBe(200);
    expect(service().status).toBe('INACTIVE');
    await expect(request(`http://${endpoint}`, { timeoutMs: 2000 })).rejects.toThrow();
    expect(server.output()).not.toContain(AWS_SECRET);
  });
});
