import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { runLoad } from '../helpers/load.ts';
import { api, startServer, type TestServer, viaRouter } from '../helpers/server.ts';
import { type SwarmLab, type SwarmNode, startSwarmLab } from '../helpers/swarm.ts';
import { until } from '../helpers/until.ts';

/**
 * Two racks that are two real Docker Swarm clusters (2 nodes and 1 node), each in network
 * namespaces of this test's own, behind their own region edge; one set-up for the whole file.
 */
const PREFIX = `wmsw${process.pid % 100000}`;
const APP = 'swarmy';
const HOST = `${APP}.localhost`;
const EDGE_PORT = 8080;
const WEB = `wm-${APP}-production-web`;

/** The app answers its code version and GREETING; code marked `crash-on-b` exits on swarm b's nodes (their cgroup parent). */
const serverJs = (crashOnB: boolean) => `const fs = require('node:fs');
const version = fs.readFileSync(__dirname + '/version.txt', 'utf8').trim();
if (${crashOnB} && fs.readFileSync('/proc/self/cgroup', 'utf8').includes('${PREFIX}-s2n')) process.exit(3);
require('node:http').createServer((req, res) => res.end(version + ' ' + (process.env.GREETING ?? 'unset'))).listen(process.env.PORT);
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls the clusters every 250 ms for up to two minutes. */
const eventually = <T>(what: string, check: () => Promise<T | undefined | false>) => until(what, check, 120_000, 250);

let lab: SwarmLab;
let server: TestServer;
let repo: string;
let racksFile: string;
/** Two connections sending GETs to the app through the control host's edge until `work` settles. */
const loadDuring = (work: Promise<unknown>) =>
  runLoad({ port: server.routerPort, host: HOST, connections: 2, durationMs: 0, until: work });
const manager = (k: number) => new Docker({ socketPath: lab.swarms[k]!.managerSocket });

/** The web service's running tasks in swarm k: their release and node. */
async function webTasks(k: number) {
  const tasks = (await manager(k).listTasks({ filters: { service: [WEB], 'desired-state': ['running'] } })) as {
    NodeID: string;
    Status: { State: string };
    Spec: { ContainerSpec: { Labels: Record<string, string> } };
  }[];
  return tasks
    .filter((t) => t.Status.State === 'running')
    .map((t) => ({ node: t.NodeID, release: t.Spec.ContainerSpec.Labels['widemesh.release'] }));
}

/** Stops a node while GETs run through the edge, until `recovered` settles: not one may fail. */
async function stopNodeUnderLoad(node: SwarmNode, recovered: () => Promise<unknown>) {
  const load = await loadDuring(sleep(2000).then(() => lab.stopNode(node).then(recovered)));
  expect(load.failures).toEqual([]);
  expect(load.requests).toBeGreaterThan(0);
  expect((await viaRouter(server, HOST)).body).toBe('v2 hello');
}

async function deploy(version: string, crashOnB = false) {
  fs.writeFileSync(path.join(repo, 'version.txt'), `${version}\n`);
  fs.writeFileSync(path.join(repo, 'server.js'), serverJs(crashOnB));
  commitAll(repo, version);
  return await push(repo, remoteUrl(server, APP));
}

describe('swarm racks: two regions that are two Docker Swarm clusters', () => {
  beforeAll(async () => {
    lab = await startSwarmLab(PREFIX, [2, 1], EDGE_PORT);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-racks-`));
    racksFile = path.join(dir, 'racks.json');
    const provider = (k: number) => ({
      type: 'swarm',
      docker: `unix://${lab.swarms[k]!.managerSocket}`,
      registry: `${lab.registry.push}/${PREFIX}`,
      pullRegistry: `${lab.registry.pull}/${PREFIX}`,
      edge: [`unix:${lab.swarms[k]!.edgeSocket}`],
      edgePort: EDGE_PORT,
    });
    const racks = [
      { kind: 'swarm', provider: 'a' },
      { kind: 'swarm', provider: 'b' },
    ];
    fs.writeFileSync(racksFile, JSON.stringify({ providers: { a: provider(0), b: provider(1) }, racks }), {
      mode: 0o600,
    });
    server = await startServer({ WIDEMESH_RACKS_FILE: racksFile, WIDEMESH_HEALTHCHECK_TIMEOUT: '60' });
    expect((await api(server, 'POST', '/api/apps', { name: APP })).status).toBe(201);
    repo = appRepo('env-node');
  }, 300_000);

  afterAll(async () => {
    await server?.cleanup();
    await lab?.close();
    if (racksFile) fs.rmSync(path.dirname(racksFile), { recursive: true, force: true });
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
  }, 300_000);

  it('deploys to both swarms and answers through the edge', async () => {
    const pushed = await deploy('v1');
    expect(pushed.code, pushed.output).toBe(0);
    expect(pushed.output).toContain('answers in swarm-a');
    expect(pushed.output).toContain('answers in swarm-b');
    expect((await viaRouter(server, HOST)).body).toBe('v1 unset');
    for (const k of [0, 1]) expect(await webTasks(k)).toEqual([expect.objectContaining({ release: '1' })]);
  }, 600_000);

  it('scales web to 3, spread over the nodes of a swarm', async () => {
    const scaled = await api(server, 'POST', `/api/apps/${APP}/ps/scale`, { web: 3 });
    expect(scaled.status, scaled.body).toBe(200);
    const tasks = await webTasks(0);
    expect(tasks).toHaveLength(3);
    expect(new Set(tasks.map((t) => t.node)).size).toBe(2);
    expect(await webTasks(1)).toHaveLength(3);
    const ps = await api(server, 'GET', `/api/apps/${APP}/ps`);
    const up = ps.json.instances.filter((i: { state: string }) => i.state === 'up');
    expect(up).toHaveLength(6);
  }, 600_000);

  it('rolls a code-only push and a config change out start-first with zero failed requests', async () => {
    const pushing = deploy('v2');
    const duringPush = await loadDuring(pushing);
    expect((await pushing).code).toBe(0);
    expect(duringPush.failures).toEqual([]);
    expect(duringPush.requests).toBeGreaterThan(0);
    await eventually('v2 answers', async () => (await viaRouter(server, HOST)).body === 'v2 unset');
    const changing = api(server, 'PATCH', `/api/apps/${APP}/config`, { GREETING: 'hello' });
    const duringChange = await loadDuring(changing);
    expect((await changing).status).toBe(200);
    expect(duringChange.failures).toEqual([]);
    await eventually('the new config answers', async () => (await viaRouter(server, HOST)).body === 'v2 hello');
  }, 900_000);

  it('a release that fails on one swarm leaves both on the previous release', async () => {
    const before = await webTasks(0);
    const pushed = await deploy('v3', true);
    expect(pushed.code).not.toBe(0);
    expect(pushed.output).toMatch(/swarm-b.*failed/);
    expect(pushed.output).toContain('Returning swarm-a');
    for (const k of [0, 1]) {
      await eventually(`swarm ${k} back on the previous release`, async () => {
        const tasks = await webTasks(k);
        return tasks.length === 3 && tasks.every((t) => t.release === before[0]!.release);
      });
    }
    // the region's edge re-resolves its tasks every 2 s: a v3 task may answer until then
    await eventually('the edge answers v2 again', async () => (await viaRouter(server, HOST)).body === 'v2 hello');
  }, 900_000);

  it('a node stopped under load: zero failed requests, and its replicas come back on the other node', async () => {
    const survivorId = ((await manager(0).info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await stopNodeUnderLoad(lab.swarms[0]!.nodes[1]!, () =>
      eventually('three replicas on the surviving node', async () => {
        const tasks = await webTasks(0);
        return tasks.length === 3 && tasks.every((t) => t.node === survivorId);
      }),
    );
  }, 600_000);

  it('a whole region stopped under load: the other region serves with zero failed requests', async () => {
    const twentyMoreAnswers = async () => {
      for (let answered = 0; answered < 20; answered++) await viaRouter(server, HOST);
    };
    await stopNodeUnderLoad(lab.swarms[0]!.nodes[0]!, twentyMoreAnswers);
  }, 600_000);
});
