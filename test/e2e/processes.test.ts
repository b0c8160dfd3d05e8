import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  service: string;
  rack: string;
  instance: string;
  state: string;
  restarts: number;
  lastLines?: string[];
}

/** Polls `ps` until `done` holds for its rows (bounded). */
async function psUntil(server: TestServer, app: string, done: (rows: Row[]) => boolean, seconds = 60): Promise<Row[]> {
  let rows: Row[] = [];
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await sleep(300)) {
    rows = (await api(server, 'GET', `/api/apps/${app}/ps`)).json.instances;
    if (done(rows)) return rows;
  }
  throw new Error(`ps never settled: ${JSON.stringify(rows)}`);
}

const count = (rows: Row[], service: string, state = 'up') =>
  rows.filter((r) => r.service === service && r.state === state).length;

async function containerOutput(id: string): Promise<string> {
  const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true })) as unknown as Buffer;
  return raw.toString('utf8');
}

describe('services, instances, the release phase and app.json', () => {
  let server: TestServer;
  let repo: string;
  const host = 'svc.localhost';

  beforeAll(async () => {
    server = await startServer();
    repo = appRepo('proc-services');
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it('runs web and worker from the Procfile at the app.json formation, after a release phase in /app', async () => {
    const result = await push(repo, remoteUrl(server, 'svc'));
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('Running the release phase: node release.js');
    expect(result.output).toContain('release phase in /app, greeting reversed: olleh');
    expect(result.output).toContain('formation: web=1 worker=1 crasher=0 per rack');
    const rows = await psUntil(server, 'svc', (r) => count(r, 'web') === 2 && count(r, 'worker') === 2);
    expect(new Set(rows.map((r) => r.rack))).toEqual(new Set(['local-a', 'local-b']));
    expect((await viaRouter(server, host)).body).toBe('web.1 v1 hello');
    const worker = rows.find((r) => r.service === 'worker')!;
    for (let i = 0; i < 50 && !(await containerOutput(worker.instance)).includes('worker tick'); i++) await sleep(100);
    expect(await containerOutput(worker.instance)).toContain('worker tick');
    // confined: no capabilities beyond what an app needs, bounded memory, CPU and processes
    const web = rows.find((r) => r.service === 'web')!;
    const limits = async (id: string) => (await docker.getContainer(id).inspect()).HostConfig;
    expect(await limits(web.instance)).toMatchObject({
      CapDrop: ['ALL'],
      Memory: 256 * 2 ** 20,
      NanoCpus: 5e8,
      PidsLimit: 512,
    });
    expect(await limits(worker.instance)).toMatchObject({ Memory: 512 * 2 ** 20, NanoCpus: 1e9 });
    expect((await limits(web.instance)).SecurityOpt).toContain('no-new-privileges');
  });

  it('scales web to three instances per rack, and the router spreads requests across them', async () => {
    const scaled = await api(server, 'POST', '/api/apps/svc/ps/scale', { web: 3 });
    expect(scaled.status, scaled.body).toBe(200);
    expect(scaled.json.formation).toMatchObject({ web: 3, worker: 1 });
    const rows = await psUntil(server, 'svc', (r) => count(r, 'web') === 6);
    expect(rows.filter((r) => r.service === 'web' && r.rack === 'local-a')).toHaveLength(3);
    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) answered.add((await viaRouter(server, host)).body.split(' ')[0]!);
    expect(answered).toEqual(new Set(['web.1', 'web.2', 'web.3']));
  });

  it('refuses a scale of a process type that does not exist, or an absurd count', async () => {
    const unknown = await api(server, 'POST', '/api/apps/svc/ps/scale', { mailer: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toMatch(
      /no mailer process type \(the current release has: web, worker, crasher\)/,
    );
    const absurd = await api(server, 'POST', '/api/apps/svc/ps/scale', { web: 5000 });
    expect(absurd.json.error).toMatchObject({ code: 'INVALID_SCALE' });
    expect(absurd.json.error.message).toMatch(/from 0 to 20/);
  });

  it('restarts a killed worker, and reports a crash-looping one with its last lines', async () => {
    const worker = (await psUntil(server, 'svc', (r) => count(r, 'worker') === 2)).find((r) => r.service === 'worker')!;
    const { State } = await docker.getContainer(worker.instance).inspect();
    process.kill(State.Pid, 'SIGKILL');
    await psUntil(server, 'svc', (r) =>
      r.some((x) => x.instance === worker.instance && x.restarts >= 1 && x.state === 'up'),
    );

    expect((await api(server, 'POST', '/api/apps/svc/ps/scale', { crasher: 1 })).status).toBe(200);
    const rows = await psUntil(server, 'svc', (r) => count(r, 'crasher', 'crashed') >= 1, 90);
    const crashed = rows.find((r) => r.service === 'crasher' && r.state === 'crashed')!;
    expect(crashed.lastLines?.join('\n')).toContain('crasher giving up');
    expect((await api(server, 'POST', '/api/apps/svc/ps/scale', { crasher: 0 })).status).toBe(200);
  });

  it('runs a one-off process with the release and its config, returning its output and exit code', async () => {
    const answer = await request(`${server.apiUrl}/api/apps/svc/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'echo "from run: $GREETING in $(pwd)"; exit 5' }),
    });
    const messages = answer.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(messages).toContainEqual({ stream: 'stdout', line: 'from run: hello in /app' });
    expect(messages.at(-1)).toEqual({ exit: 5 });
    const oneOffs = await docker.listContainers({ all: true, filters: { label: ['widemesh.one-off=svc/production'] } });
    expect(oneOffs).toHaveLength(0);
  });

  it('stops every instance with ps:stop, and brings the formation back with ps:start', async () => {
    const stopped = await api(server, 'POST', '/api/apps/svc/ps/stop');
    expect(stopped.json.running).toEqual({ crasher: 0, web: 0, worker: 0 });
    expect((await viaRouter(server, host)).status).toBe(503);
    expect((await api(server, 'GET', '/api/apps/svc/ps')).json.instances).toEqual([]);
    const started = await api(server, 'POST', '/api/apps/svc/ps/start');
    expect(started.json.running).toMatchObject({ web: 3, worker: 1 });
    expect((await viaRouter(server, host)).status).toBe(200);
  });

  it('refuses a config change whose release phase fails; the old config keeps serving', async () => {
    const refused = await api(server, 'PATCH', '/api/apps/svc/config', { RELEASE_EXIT: '3', GREETING: 'bye' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.json.error.message).toMatch(/the release phase exited with code 3/);
    expect((await api(server, 'GET', '/api/apps/svc/config')).json.vars).toEqual({ GREETING: 'hello' });
    expect((await viaRouter(server, host)).body).toMatch(/ v1 hello$/);
  });

  it('keeps the release phase output of a config change, shown by release, secrets masked', {
    timeout: 600_000,
  }, async () => {
    const app = appRepo('release-output');
    expect((await push(app, remoteUrl(server, 'relout'))).code).toBe(0);
    const output = (version: string) => api(server, 'GET', `/api/apps/relout/releases/${version}/output`);
    expect((await output('v1')).json).toMatchObject({
      version: 1,
      lines: expect.arrayContaining(['       migrating in none mode']),
    });

    const changed = await api(server, 'PATCH', '/api/apps/relout/config', {
      MIGRATION_MODE: 'new',
      MIGRATION_TOKEN: 'tok-s3cret',
    });
    expect(changed.status).toBe(200);
    const v2 = (await output('2')).json;
    expect(v2).toMatchObject({ version: 2, status: 'succeeded' });
    expect(v2.lines).toEqual([
      '-----> Running the release phase: node release.js',
      '       migrating in new mode',
      '       token in use: [redacted]',
    ]);

    const refused = await api(server, 'PATCH', '/api/apps/relout/config', { MIGRATION_MODE: 'bad' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const v3 = (await output('v3')).json;
    expect(v3).toMatchObject({ version: 3, status: 'failed' });
    expect(v3.lines).toContain('       migrating in bad mode');
    expect(v3.lines.at(-1)).toBe(' !     the release phase exited with code 5');
    expect((await output('v9')).status).toBe(404);
  });

  it('rejects a push whose release phase fails, or whose app.json health check fails; v1 keeps serving', async () => {
    fs.writeFileSync(path.join(repo, 'version.json'), '{ "version": "v2", "releaseExit": 4 }\n');
    commitAll(repo, 'release phase fails');
    const failedRelease = await push(repo, remoteUrl(server, 'svc'));
    expect(failedRelease.code).not.toBe(0);
    expect(failedRelease.output).toContain('the release phase exited with code 4');

    fs.writeFileSync(path.join(repo, 'version.json'), '{ "version": "unhealthy" }\n');
    commitAll(repo, 'health check fails');
    const unhealthy = await push(repo, remoteUrl(server, 'svc'));
    expect(unhealthy.code).not.toBe(0);
    expect(unhealthy.output).toMatch(
      /web health check \(GET \/health, app.json\) failed 3 times: the answer lacks "ok"/,
    );
    expect((await viaRouter(server, host)).body).toMatch(/ v1 hello$/);
  });

  it('deploys a worker-only app: no web process, no HTTP check, and its worker logs', async () => {
    const result = await push(appRepo('proc-worker-only'), remoteUrl(server, 'solo'));
    expect(result.code, result.output).toBe(0);
    const rows = await psUntil(server, 'solo', (r) => count(r, 'worker') === 2);
    expect(rows.some((r) => r.service === 'web')).toBe(false);
    expect((await viaRouter(server, 'solo.localhost')).status).toBe(503);
    let output = '';
    for (let i = 0; i < 50 && !output.includes('solo worker working'); i++, await sleep(100)) {
      output = await containerOutput(rows[0]!.instance);
    }
    expect(output).toContain('solo worker working');
  });

  it('refuses a deploy that lacks a config var app.json requires, naming it', async () => {
    const result = await push(appRepo('proc-needs-config'), remoteUrl(server, 'needy'));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('app.json requires config vars that are not set: API_KEY');
  });
});
