/**
 * Real Docker Swarm clusters on this machine, for tests: one "lan" network namespace with a
 * bridge, one namespace and one dockerd per node, a registry in the lan, all addresses in
 * 198.18.0.0/15 and inside the test's own namespaces only (see shared/reference/swarm.md).
 *
 * The host reaches the lan only through unix sockets (they live in the file system): an nginx
 * in the lan namespace carries each swarm's edge socket to its nodes' edge port, and the
 * registry socket to the registry; a loopback port in this process carries pushes to it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);
const REGISTRY_ADDRESS = '198.18.0.254:5000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SwarmNode {
  /** netns name, also the dockerd's cgroup parent */
  name: string;
  address: string;
  socket: string;
  dockerd?: ChildProcess;
}

export interface TestSwarm {
  nodes: SwarmNode[];
  /** the first node: the manager */
  managerSocket: string;
  /** the swarm's edge as the host reaches it (a unix socket into the lan) */
  edgeSocket: string;
}

export interface SwarmLab {
  swarms: TestSwarm[];
  /** where the build host pushes (a loopback port) and where the nodes pull from */
  registry: { push: string; pull: string };
  /** the port each swarm's edge publishes on its nodes */
  edgePort: number;
  stopNode(node: SwarmNode): Promise<void>;
  startNode(node: SwarmNode): Promise<void>;
  close(): Promise<void>;
}

const ip = (...args: string[]) => run('ip', args);

/** Builds the lan and `sizes.length` swarms of `sizes[k]` nodes each; `prefix` keeps names apart. */
export async function startSwarmLab(prefix: string, sizes: number[], edgePort: number): Promise<SwarmLab> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const runDir = `/run/${prefix}`;
  fs.mkdirSync(runDir, { recursive: true });
  const lan = `${prefix}-lan`;
  const children: ChildProcess[] = [];
  const swarms: TestSwarm[] = [];
  let relay: net.Server | undefined;
  const close = async () => {
    relay?.close();
    for (const node of swarms.flatMap((s) => s.nodes)) await stopDockerd(node);
    for (const child of children) await stopChild(child);
    for (const ns of [lan, ...swarms.flatMap((s) => s.nodes.map((n) => n.name))])
      await ip('netns', 'del', ns).catch(() => {});
    for (const node of swarms.flatMap((s) => s.nodes)) removeCgroups(node.name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await makeLan(lan);
    for (const [k, size] of sizes.entries()) {
      const nodes: SwarmNode[] = [];
      for (let i = 1; i <= size; i++) nodes.push(await makeNode(prefix, lan, k + 1, i, runDir));
      swarms.push({ nodes, managerSocket: nodes[0]!.socket, edgeSocket: `${runDir}/edge-${k + 1}.sock` });
    }
    const start = (node: SwarmNode) => startDockerd(node, dir, runDir);
    await Promise.all(swarms.flatMap((s) => s.nodes.map(start)));
    for (const swarm of swarms) await formSwarm(swarm);
    children.push(startRegistry(lan, dir));
    children.push(await startLanRelay(lan, dir, runDir, swarms, edgePort));
    relay = await forwardLoopback(`${runDir}/registry.sock`);
    const push = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    await waitForRegistry(`${runDir}/registry.sock`);
    return {
      swarms,
      registry: { push, pull: REGISTRY_ADDRESS },
      edgePort,
      stopNode: stopDockerd,
      startNode: start,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function makeLan(lan: string): Promise<void> {
  await ip('netns', 'add', lan);
  await ip('-n', lan, 'link', 'set', 'lo', 'up');
  await ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', lan, 'link', 'set', 'br0', 'up');
  await ip('-n', lan, 'addr', 'add', `${REGISTRY_ADDRESS.split(':')[0]}/16`, 'dev', 'br0');
}

/** Node i of swarm k: namespace PREFIX-sKnI at 198.18.K.I, a veth into the lan's bridge. */
async function makeNode(prefix: string, lan: string, k: number, i: number, runDir: string): Promise<SwarmNode> {
  const name = `${prefix}-s${k}n${i}`;
  const peer = `s${k}n${i}`;
  const address = `198.18.${k}.${i}`;
  await ip('netns', 'add', name);
  await ip('-n', name, 'link', 'set', 'lo', 'up');
  await ip('-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', lan);
  await ip('-n', name, 'addr', 'add', `${address}/16`, 'dev', 'eth0');
  await ip('-n', name, 'link', 'set', 'eth0', 'up');
  await ip('-n', lan, 'link', 'set', peer, 'master', 'br0');
  await ip('-n', lan, 'link', 'set', peer, 'up');
  return { name, address, socket: `${runDir}/${peer}.sock` };
}

/** nsenter --net keeps /sys as it is (ip netns exec would hide the cgroups); the mounts stay private. */
async function startDockerd(node: SwarmNode, dir: string, runDir: string): Promise<void> {
  const id = path.basename(node.socket, '.sock');
  fs.mkdirSync(`${runDir}/${id}`, { recursive: true });
  const log = fs.openSync(path.join(dir, `${id}-dockerd.log`), 'a');
  node.dockerd = spawn(
    'nsenter',
    [
      `--net=/run/netns/${node.name}`,
      ...['--', 'unshare', '--mount', '--propagation', 'slave', '--', 'dockerd'],
      ...['--data-root', `${dir}/${id}`, '--exec-root', `${runDir}/${id}`, '--pidfile', `${runDir}/${id}/pid`],
      ...['-H', `unix://${node.socket}`, '--bridge=none', '--iptables=false', '--ip-masq=false'],
      ...['--default-address-pool', 'base=198.19.128.0/17,size=24', '--cgroup-parent', node.name],
      ...['--storage-driver', 'overlay2', '--insecure-registry', REGISTRY_ADDRESS],
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const docker = new Docker({ socketPath: node.socket });
  for (let tries = 0; ; tries++) {
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      return;
    if (tries > 300 || node.dockerd.exitCode !== null) throw new Error(`dockerd of ${node.name} did not start`);
    await sleep(100);
  }
}

async function formSwarm(swarm: TestSwarm): Promise<void> {
  const [manager, ...workers] = swarm.nodes;
  const managerDocker = new Docker({ socketPath: manager!.socket });
  await managerDocker.swarmInit({
    AdvertiseAddr: manager!.address,
    ListenAddr: `${manager!.address}:2377`,
    DefaultAddrPool: ['198.19.0.0/17'],
    SubnetSize: 24,
  });
  const { JoinTokens } = (await managerDocker.swarmInspect()) as { JoinTokens: { Worker: string } };
  for (const worker of workers) {
    await new Docker({ socketPath: worker.socket }).swarmJoin({
      JoinToken: JoinTokens.Worker,
      AdvertiseAddr: worker.address,
      ListenAddr: `${worker.address}:2377`,
      RemoteAddrs: [`${manager!.address}:2377`],
    });
  }
}

function startRegistry(lan: string, dir: string): ChildProcess {
  const config = path.join(dir, 'registry.yml');
  fs.writeFileSync(
    config,
    `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${dir}/registry}}\nhttp: {addr: "${REGISTRY_ADDRESS}"}\n`,
  );
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn('nsenter', [`--net=/run/netns/${lan}`, '--', 'docker-registry', 'serve', config], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return child;
}

/** nginx in the lan: each swarm's edge socket → its nodes' edge port (failing over), the registry socket → the registry. */
async function startLanRelay(
  lan: string,
  dir: string,
  runDir: string,
  swarms: TestSwarm[],
  edgePort: number,
): Promise<ChildProcess> {
  const proxy = 'proxy_http_version 1.1; proxy_set_header Host $http_host; proxy_set_header Connection "";';
  const edges = swarms.flatMap((swarm, k) => [
    `upstream swarm${k + 1} {`,
    ...swarm.nodes.map((n) => `  server ${n.address}:${edgePort} max_fails=1 fail_timeout=3s;`),
    '  keepalive 16;',
    '}',
    `server { listen unix:${swarm.edgeSocket}; location / { proxy_pass http://swarm${k + 1}; ${proxy}`,
    '  proxy_next_upstream error timeout http_502; proxy_connect_timeout 2s; } }',
  ]);
  const config = path.join(dir, 'lan-nginx.conf');
  fs.mkdirSync(path.join(dir, 'nginx-tmp'));
  fs.writeFileSync(
    config,
    [
      `worker_processes 1; pid ${runDir}/lan-nginx.pid; error_log ${dir}/lan-nginx.log warn; daemon off;`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log off; client_body_temp_path ${dir}/nginx-tmp; proxy_temp_path ${dir}/nginx-tmp;`,
      '  client_max_body_size 0; proxy_request_buffering off; proxy_buffering off;',
      ...edges,
      `  server { listen unix:${runDir}/registry.sock; location / { proxy_pass http://${REGISTRY_ADDRESS}; ${proxy} } }`,
      '}',
    ].join('\n'),
  );
  const child = spawn('nsenter', [`--net=/run/netns/${lan}`, '--', 'nginx', '-c', config], { stdio: 'ignore' });
  for (let tries = 0; !fs.existsSync(`${runDir}/registry.sock`); tries++) {
    if (tries > 100 || child.exitCode !== null) throw new Error(`the lan nginx did not start (${dir}/lan-nginx.log)`);
    await sleep(100);
  }
  return child;
}

/** A loopback port that carries bytes to a unix socket (Docker treats 127.0.0.1 registries as trusted). */
async function forwardLoopback(socket: string): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(socket);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function waitForRegistry(socket: string): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const ok = await fetchSocket(socket, '/v2/').then(
      (status) => status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error('the registry did not answer');
}

function fetchSocket(socketPath: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: urlPath, headers: { host: 'registry' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

/** SIGTERM, as a node's shutdown would: its containerd and shims end with it. */
async function stopDockerd(node: SwarmNode): Promise<void> {
  if (node.dockerd) await stopChild(node.dockerd);
  node.dockerd = undefined;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** --cgroup-parent leaves empty directories behind. */
export function removeCgroups(parent: string): void {
  for (const controller of fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
    const dir = path.join('/sys/fs/cgroup', controller.name, parent);
    if (controller.isDirectory() && fs.existsSync(dir)) removeTree(dir);
  }
}

function removeTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(path.join(dir, entry.name));
  }
  try {
    fs.rmdirSync(dir);
  } catch {
    // a cgroup still in use (a process not yet gone) stays; it is empty of files anyway
  }
}
