import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveRacks } from '../../../../server/config.ts';
import type { ReleaseSpec } from '../../../../server/racks/rack.ts';
import { clusterConnection } from '../../../../server/racks/swarm.ts';
import { regionEdgeSpec, renderRegionEdge } from '../../../../server/racks/swarm-edge.ts';
import { httpCheckCommand, networkName, serviceName, serviceSpec } from '../../../../server/racks/swarm-spec.ts';

const release: ReleaseSpec = {
  app: 'shop',
  environment: 'staging',
  version: 7,
  image: 'unused',
  processes: { web: 'node server.js', worker: 'node worker.js', release: 'node migrate.js' },
  config: { GREETING: 'hi' },
  formation: { web: 3, worker: 1 },
  healthchecks: {},
  resources: { worker: { memoryMb: 128 } },
};
const limits = { memoryMb: 512, cpus: 1, pids: 256 };
const specOf = (service: string, r: ReleaseSpec = release) =>
  serviceSpec({
    spec: r,
    service,
    command: r.processes[service],
    image: 'reg:5000/wm/shop@sha256:abc',
    network: 'wm-inst-shop-staging',
    installationId: 'inst',
    limits,
    startPeriodMs: 30_000,
  });

describe('swarm providers', () => {
  const provider = { type: 'swarm', docker: 'unix:///run/m.sock', registry: 'r:5000/wm', edge: ['unix:/run/e.sock'] };

  it('resolves a swarm rack named after its provider, and refuses incomplete settings', () => {
    expect(resolveRacks([{ kind: 'swarm', provider: 'eu' }], { eu: provider }, 'test')).toEqual([
      { kind: 'swarm', name: 'swarm-eu', provider },
    ]);
    const bad = (settings: object) => () => resolveRacks([{ kind: 'swarm', provider: 'eu' }], { eu: settings }, 'test');
    expect(bad({ ...provider, edge: [] })).toThrow(ConfigError);
    expect(bad({ ...provider, edge: ['http://x'] })).toThrow(/edge/);
    expect(bad({ ...provider, docker: 'http://m:2375' })).toThrow(/docker must be/);
    expect(bad({ ...provider, tls: { ca: 'x' } })).toThrow(/tls/);
    expect(() => resolveRacks([{ kind: 'swarm', provider: 'g' }], { g: { type: 'gcp' } }, 'test')).toThrow(ConfigError);
  });

  it("reaches a manager through a unix socket, TCP with the operator's TLS, or SSH", () => {
    expect(clusterConnection({ docker: 'unix:///run/m.sock' })).toEqual({ socketPath: '/run/m.sock' });
    const tls = { ca: 'CA', cert: 'CERT', key: 'KEY' };
    expect(clusterConnection({ docker: 'tcp://m.example:2376', tls })).toEqual({
      protocol: 'https',
      host: 'm.example',
      port: 2376,
      ...tls,
    });
    expect(clusterConnection({ docker: 'ssh://ops@m.example', sshKey: 'PEM' })).toEqual({
      protocol: 'ssh',
      host: 'm.example',
      port: 22,
      username: 'ops',
      sshOptions: { privateKey: 'PEM' },
    });
  });
});

describe('swarm services', () => {
  it('runs each process type as a dnsrr service with its formation, config, limits and start-first updates', () => {
    const web = specOf('web');
    expect(web.Name).toBe('wm-shop-staging-web');
    expect(web.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(web.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(web.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback', Parallelism: 1 });
    expect(web.TaskTemplate.ContainerSpec).toMatchObject({
      Image: 'reg:5000/wm/shop@sha256:abc',
      Command: ['/bin/sh', '-c', 'node server.js'],
      Env: ['GREETING=hi', 'DYNO=web', 'PORT=5000'],
      Init: true,
      Labels: { 'widemesh.release': '7', 'widemesh.service': 'web', 'widemesh.app': 'shop' },
    });
    expect(web.TaskTemplate.ContainerSpec.Healthcheck?.Test).toEqual(httpCheckCommand('/', 499));
    expect(web.TaskTemplate.Networks).toEqual([{ Target: 'wm-inst-shop-staging' }]);
    const worker = specOf('worker');
    expect(worker.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
    expect(worker.TaskTemplate.ContainerSpec.Env).not.toContain('PORT=5000');
    expect(worker.TaskTemplate.Resources.Limits).toEqual({ MemoryBytes: 128 * 1024 * 1024, NanoCPUs: 1e9, Pids: 256 });
  });

  it("checks app.json's path, and names fit DNS labels", () => {
    const check = { path: '/up', initialDelay: 0, timeout: 4, attempts: 5, wait: 1, uptime: 0 };
    const web = specOf('web', { ...release, healthchecks: { web: [check] } });
    expect(web.TaskTemplate.ContainerSpec.Healthcheck).toMatchObject({
      Test: httpCheckCommand('/up', 399),
      Retries: 5,
    });
    const long = { app: 'a'.repeat(40), environment: 'b'.repeat(40) };
    expect(serviceName(long, 'web').length).toBeLessThanOrEqual(63);
    expect(networkName('inst', long)).toMatch(/^wm-inst-a+-b*[a-z]$/);
  });

  it('the health check answers from a real HTTP server in a namespace of its own', () => {
    const check = (status: number) => {
      const server = `require('http').createServer((q, r) => { r.statusCode = ${status}; r.end(); }).listen(5000, '127.0.0.1')`;
      const listening = "until bash -c 'exec 3<>/dev/tcp/127.0.0.1/5000' 2>/dev/null; do sleep 0.1; done";
      const script = `ip link set lo up; node -e "${server}" & ${listening}; bash -c "$CHECK"; echo $?; kill %1`;
      const env = { ...process.env, CHECK: httpCheckCommand('/', 499)[3] };
      return execFileSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8', env }).trim();
    };
    expect(check(404)).toBe('0');
    expect(check(503)).toBe('1');
  });
});

describe('the region edge', () => {
  const sites = [{ hostNames: ['shop.x.test', 'shop-production.x.test'], service: 'wm-shop-production-web' }];

  it('routes each host name to its web service by DNS, and nginx accepts the configuration', () => {
    const config = renderRegionEdge(sites, 8080);
    expect(config).toContain('server_name shop.x.test shop-production.x.test;');
    expect(config).toContain('set $wm_upstream wm-shop-production-web; proxy_pass http://$wm_upstream:5000;');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wm-region-edge-'));
    fs.writeFileSync(path.join(dir, 'edge.conf'), config.replace('/tmp/edge.pid', `${dir}/edge.pid`));
    execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', path.join(dir, 'edge.conf')], { stdio: 'pipe' });
    fs.rmSync(dir, { recursive: true });
    expect(() => renderRegionEdge([{ hostNames: ['bad name;'], service: 'x' }], 80)).toThrow(/not a valid name/);
  });

  it('runs on every node, publishing its port on the node itself, replaced node by node', () => {
    const spec = regionEdgeSpec({ image: 'edge', config: 'C', networks: ['b', 'a'], port: 80, installationId: 'i' });
    expect(spec.Mode).toEqual({ Global: {} });
    expect(spec.EndpointSpec.Ports).toEqual([
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 80, PublishMode: 'host' },
    ]);
    expect(spec.UpdateConfig.Order).toBe('stop-first');
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'a' }, { Target: 'b' }]);
  });
});
