import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../../server/config.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-unit-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('config', () => {
  it('has embedded defaults and validates what it reads', () => {
    const config = readConfig({ HOME: '/home/x' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      apiPort: 7070,
      routerPort: 7080,
      domain: 'localhost',
      racks: [
        { kind: 'local', name: 'local-a' },
        { kind: 'local', name: 'local-b' },
      ],
    });
    expect(config.dataDir).toBe(path.resolve(os.homedir(), '.widemesh'));
    expect(readConfig({ WIDEMESH_PORT: '9000', WIDEMESH_HEALTHCHECK_TIMEOUT: '5' })).toMatchObject({
      apiPort: 9000,
      healthcheckTimeoutMs: 5000,
    });
    expect(() => readConfig({ WIDEMESH_PORT: 'eighty' })).toThrow(ConfigError);
    expect(readConfig({ WIDEMESH_INSTANCE_MAX_MEMORY_MB: '1024', WIDEMESH_INSTANCE_MAX_CPUS: '3' })).toMatchObject({
      instanceLimits: { memoryMb: 512, cpus: 1, pids: 512 },
      instanceCeiling: { memoryMb: 1024, cpus: 3 },
    });
    expect(config.instanceDiskMb).toBe(1024);
    expect(readConfig({ WIDEMESH_INSTANCE_DISK_MB: '0' }).instanceDiskMb).toBe(0);
    expect(() => readConfig({ WIDEMESH_INSTANCE_DISK_MB: '-1' })).toThrow('WIDEMESH_INSTANCE_DISK_MB');
    // a ceiling below the default is a mistake
    expect(() => readConfig({ WIDEMESH_INSTANCE_MAX_MEMORY_MB: '256' })).toThrow('WIDEMESH_INSTANCE_MAX_MEMORY_MB');
    expect(() => readConfig({ WIDEMESH_RACKS: 'local-a' })).toThrow(/at least two racks/);
    const file = path.join(dir, 'racks.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        providers: { g: { type: 'gcp', project: 'p', registry: 'r', credentials: 'none' } },
        racks: [
          { kind: 'cloud-run', provider: 'g', location: 'europe-west1' },
          { kind: 'local', name: 'local-a' },
        ],
      }),
    );
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/credentials \(a service account key/);
    fs.writeFileSync(
      file,
      JSON.stringify({ providers: {}, racks: [{ kind: 'app-runner', provider: 'nope', region: 'us-east-1' }] }),
    );
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/not among the providers/);
    const aws = { type: 'aws', accessKeyId: 'AKID', secretAccessKey: 's', registry: 'r' };
    const ecsRacks = (provider: object) =>
      JSON.stringify({
        providers: { a: { ...aws, ...provider } },
        racks: [
          { kind: 'ecs-express', provider: 'a', region: 'us-east-1' },
          { kind: 'local', name: 'local-a' },
        ],
      });
    fs.writeFileSync(file, ecsRacks({}));
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/infrastructureRoleArn and executionRoleArn/);
    fs.writeFileSync(file, ecsRacks({ infrastructureRoleArn: 'admin', executionRoleArn: 'admin' }));
    expect(() => readConfig({ WIDEMESH_RACKS_FILE: file })).toThrow(/infrastructureRoleArn must be an IAM role ARN/);
    const roles = {
      infrastructureRoleArn: 'arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    };
    fs.writeFileSync(file, ecsRacks(roles));
    expect(readConfig({ WIDEMESH_RACKS_FILE: file }).racks[0]).toMatchObject({
      kind: 'ecs-express',
      name: 'us-east-1',
      region: 'us-east-1',
      provider: roles,
    });
    expect(() => readConfig({ WIDEMESH_DOMAIN: 'bad domain' })).toThrow(/not a valid domain/);
  });
});

describe('edge listen addresses', () => {
  it('reads WIDEMESH_EDGE_HTTP / WIDEMESH_EDGE_HTTPS as HOST:PORT or PORT, defaulting to the router port', () => {
    expect(readConfig({})).toMatchObject({
      edgeHttp: { host: '127.0.0.1', port: 7080 },
      edgeHttps: { host: '127.0.0.1', port: 7443 },
      routerPort: 7080,
    });
    expect(readConfig({ WIDEMESH_ROUTER_PORT: '9080' }).edgeHttp).toEqual({ host: '127.0.0.1', port: 9080 });
    const set = readConfig({ WIDEMESH_EDGE_HTTP: '0.0.0.0:80', WIDEMESH_EDGE_HTTPS: '[::1]:8443' });
    expect(set).toMatchObject({ edgeHttp: { host: '0.0.0.0', port: 80 }, edgeHttps: { host: '::1', port: 8443 } });
    expect(set.routerPort).toBe(80);
    expect(readConfig({ WIDEMESH_EDGE_HTTPS: '8443' }).edgeHttps).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(() => readConfig({ WIDEMESH_EDGE_HTTP: 'example.com:80' })).toThrow(ConfigError);
    expect(() => readConfig({ WIDEMESH_EDGE_HTTP: '1.2.3.4:99999' })).toThrow(/HOST:PORT/);
    expect(() => readConfig({ WIDEMESH_EDGE_CERT: '/nonexistent.crt' })).toThrow(/go together/);
  });
});

describe('builds', () => {
  it('run isolated with limits by default; the network, limits and allowed registries are settings', () => {
    expect(readConfig({})).toMatchObject({
      buildNetwork: 'isolated',
      buildLimits: { memoryMb: 2048, cpus: 2, pids: 1024 },
      buildAllowedHosts: undefined,
    });
    const set = readConfig({
      WIDEMESH_BUILD_NETWORK: 'host',
      WIDEMESH_BUILD_MEMORY_MB: '512',
      WIDEMESH_BUILD_ALLOWED_HOSTS: 'registry.npmjs.org, mirror.example:8080',
    });
    expect(set).toMatchObject({ buildNetwork: 'host', buildLimits: { memoryMb: 512 } });
    expect(set.buildAllowedHosts).toEqual([
      { host: 'registry.npmjs.org', port: undefined },
      { host: 'mirror.example', port: 8080 },
    ]);
    expect(() => readConfig({ WIDEMESH_BUILD_NETWORK: 'bridge' })).toThrow(/"isolated" or "host"/);
    expect(() => readConfig({ WIDEMESH_BUILD_ALLOWED_HOSTS: 'http://x/' })).toThrow(/WIDEMESH_BUILD_ALLOWED_HOSTS/);
  });
});
