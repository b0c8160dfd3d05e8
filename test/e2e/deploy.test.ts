import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, instanceContainers, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The app's code, written by each step: answers with a version marker and $GREETING. */
function writeApp(dir: string, marker: string, extra = ''): void {
  fs.writeFileSync(
    path.join(dir, 'server.cjs'),
    `const express = require('express');
const app = express();
app.get('/', (req, res) => res.send(\`\${process.env.GREETING ?? 'hello'} from ${marker}\`));
${extra}
app.listen(process.env.PORT, () => console.log('listening on', process.env.PORT));
`,
  );
  fs.writeFileSync(path.join(dir, 'Procfile'), 'web: node server.cjs\n');
}

/** Requests the endpoint in a loop until ended; every answer that is not a 200 is a failure. */
function keepRequesting(server: TestServer, host: string) {
  let running = true;
  const seen = { ok: 0, failures: [] as string[], bodies: new Set<string>() };
  const loop = (async () => {
    while (running) {
      try {
        const answer = await viaRouter(server, host);
        if (answer.status === 200) {
          seen.ok += 1;
          seen.bodies.add(answer.body);
        } else seen.failures.push(`${answer.status} ${answer.body.slice(0, 120)}`);
      } catch (err) {
        seen.failures.push(String(err));
      }
      await sleep(20);
    }
  })();
  return {
    async end() {
      running = false;
      await loop;
      return seen;
    },
  };
}

const appContainers = (server: TestServer, app: string) => instanceContainers(server, [`widemesh.app=${app}`]);

describe('git push to a running server, real Docker', () => {
  let server: TestServer;
  let repo: string;
  const host = 'shop.localhost';

  beforeAll(async () => {
    server = await startServer();
    repo = appRepo('node-express-npm');
    writeApp(repo, 'v1');
    commitAll(repo, 'v1');
  });

  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it('builds a Node app from a push and serves it through the router on both racks', async () => {
    const result = await push(repo, remoteUrl(server, 'shop'));
    expect(result.output).toContain('remote: -----> Receiving shop (production)');
    expect(result.output).toMatch(/remote: -----> .*node.* app detected/i);
    expect(result.output).toContain('remote: -----> Releasing v1 to local-a');
    expect(result.output).toContain('remote: -----> Releasing v1 to local-b');
    expect(result.output).toContain(`is live at http://${host}:${server.routerPort}/`);
    expect(result.code).toBe(0);
    const answer = await viaRouter(server, host);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('hello from v1');
    const containers = await appContainers(server, 'shop');
    expect(containers.map((c) => c.Labels['widemesh.rack']).sort()).toEqual(['local-a', 'local-b']);
    const [production] = (await api(server, 'GET', '/api/apps')).json[0].environments;
    expect(production).toMatchObject({ status: 'live', release: 1, lastBuild: { status: 'succeeded' } });
  });

  it('times each phase of the release for the deploy timeline: build, then the rollout in each rack', async () => {
    const timeline = (await api(server, 'GET', '/api/apps/shop/timeline')).json;
    const [v1] = timeline.releases;
    expect(v1.version).toBe(1);
    const steps = v1.steps as {
      phase: string;
      rack: string | null;
      startedAt: string;
      finishedAt: string;
      ok: boolean;
    }[];
    expect(steps.map((s) => `${s.phase} ${s.rack ?? '-'} ${s.ok}`).sort()).toEqual([
      'build - true',
      'rollout local-a true',
      'rollout local-b true',
    ]);
    for (const step of steps) expect(Date.parse(step.finishedAt)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
    const build = steps.find((s) => s.phase === 'build')!;
    for (const rollout of steps.filter((s) => s.phase === 'rollout'))
      expect(Date.parse(rollout.startedAt)).toBeGreaterThanOrEqual(Date.parse(build.finishedAt));
  });

  it('switches to release 2 on a code-only push without a failed request, reusing the dependency layer', async () => {
    writeApp(repo, 'v2');
    commitAll(repo, 'v2');
    const load = keepRequesting(server, host);
    const result = await push(repo, remoteUrl(server, 'shop'));
    await sleep(1500); // past the drain time: the old instances are gone
    const seen = await load.end();
    expect(result.code).toBe(0);
    expect(result.output).toContain('Releasing v2 to local-a');
    expect(result.output).toMatch(/Using cache/);
    expect(seen.failures).toEqual([]);
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.bodies).toEqual(new Set(['hello from v1', 'hello from v2']));
    expect((await viaRouter(server, host)).body).toBe('hello from v2');
    expect(await appContainers(server, 'shop')).toHaveLength(2);
  });

  it('rejects a push whose build fails, shows the error, and keeps release 2 serving', async () => {
    const broken = appRepo('node-express-npm');
    writeApp(broken, 'v3');
    const pkg = JSON.parse(fs.readFileSync(path.join(broken, 'package.json'), 'utf8'));
    pkg.scripts = { ...pkg.scripts, build: 'node build.cjs' };
    fs.writeFileSync(path.join(broken, 'package.json'), JSON.stringify(pkg, null, 2));
    fs.writeFileSync(path.join(broken, 'build.cjs'), 'const x = ;\n');
    commitAll(broken, 'broken build');
    const result = await push(broken, remoteUrl(server, 'shop'), '+main:main');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('SyntaxError');
    expect(result.output).toMatch(/remote: {2}! {5}Build failed/);
    expect(result.output).toContain('pre-receive hook declined');
    expect((await viaRouter(server, host)).body).toBe('hello from v2');
    const [production] = (await api(server, 'GET', '/api/apps/shop')).json.environments;
    expect(production).toMatchObject({ status: 'live', release: 2, lastBuild: { status: 'failed' } });
  });

  it('rejects an app that never binds $PORT after the health check, keeping release 2', async () => {
    fs.writeFileSync(path.join(repo, 'Procfile'), 'web: node -e "setInterval(() => {}, 1000)"\n');
    commitAll(repo, 'never listens');
    const result = await push(repo, remoteUrl(server, 'shop'));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/did not listen on \$PORT/);
    expect(result.output).toContain('v2 keeps serving');
    expect((await viaRouter(server, host)).body).toBe('hello from v2');
    expect(await appContainers(server, 'shop')).toHaveLength(2);
    execGitReset(repo);
  });

  it('restarts the app with a new config var, which never reaches the image or the build log', async () => {
    const answer = await api(server, 'PATCH', '/api/apps/shop/config', { GREETING: 'hola-secreto' });
    expect(answer.status).toBe(200);
    expect(answer.json.vars).toEqual({ GREETING: 'hola-secreto' });
    expect(answer.json.release.description).toBe('Set GREETING config vars');
    expect((await viaRouter(server, host)).body).toBe('hola-secreto from v2');
    const releases = await api(server, 'GET', '/api/apps/shop/releases');
    const current = releases.json[0];
    const image = await docker.getImage(current.image).inspect();
    expect(JSON.stringify(image.Config.Env)).not.toContain('hola-secreto');
    const builds = await api(server, 'GET', '/api/apps/shop/builds');
    for (const build of builds.json) {
      const log = await api(server, 'GET', `/api/apps/shop/builds/${build.id}/log`);
      expect(log.body).not.toContain('hola-secreto');
    }
  });

  it('rolls back to release 1: its code and its config', async () => {
    const answer = await api(server, 'POST', '/api/apps/shop/rollback', { version: 1 });
    expect(answer.status).toBe(200);
    expect(answer.json.release.description).toBe('Rollback to v1');
    expect((await viaRouter(server, host)).body).toBe('hello from v1');
    const releases = await api(server, 'GET', '/api/apps/shop/releases');
    expect(releases.json.map((r: { version: number; status: string }) => `v${r.version} ${r.status}`)).toEqual([
      'v5 succeeded',
      'v4 succeeded',
      'v3 failed',
      'v2 succeeded',
      'v1 succeeded',
    ]);
  });

  it("keeps answering from the other rack when one rack's container is killed", async () => {
    const [inRackA] = (await appContainers(server, 'shop')).filter((c) => c.Labels['widemesh.rack'] === 'local-a');
    await docker.getContainer(inRackA!.Id).kill();
    for (let i = 0; i < 30; i++) {
      const answer = await viaRouter(server, host);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('hello from v1');
    }
    // and it comes back by itself, without a server restart
    await expect
      .poll(async () => (await docker.getContainer(inRackA!.Id).inspect()).State.Running, { timeout: 30_000 })
      .toBe(true);
  });

  it('replaces an instance whose container was removed, without a server restart', async () => {
    const [removed] = (await appContainers(server, 'shop')).filter((c) => c.Labels['widemesh.rack'] === 'local-b');
    await docker.getContainer(removed!.Id).remove({ force: true });
    const inRackB = async () => {
      const rows: { rack: string; instance: string; state: string }[] = (await api(server, 'GET', '/api/apps/shop/ps'))
        .json.instances;
      return rows.filter((r) => r.rack === 'local-b');
    };
    await expect
      .poll(async () => (await inRackB()).map((r) => [r.state, removed!.Id.startsWith(r.instance)]), {
        timeout: 60_000,
        interval: 500,
      })
      .toEqual([['up', false]]);
    expect((await viaRouter(server, host)).body).toBe('hello from v1');
  });

  it('survives a SIGKILL of the server mid-build: apps keep serving, containers are picked up, the cut build fails', async () => {
    const slow = appRepo('node-express-npm');
    writeApp(slow, 'slow');
    fs.writeFileSync(path.join(slow, 'Dockerfile'), 'FROM widemesh/stack-node:22\nRUN sleep 60\n');
    commitAll(slow, 'slow build');
    const before = (await appContainers(server, 'shop'))
      .filter((c) => c.State === 'running')
      .map((c) => c.Id)
      .sort();
    const load = keepRequesting(server, host);
    const pushing = push(slow, remoteUrl(server, 'slowpoke'));
    for (let i = 0; i < 100; i++) {
      const builds = await api(server, 'GET', '/api/apps/slowpoke/builds').catch(() => undefined);
      if (builds?.status === 200 && builds.json.length > 0) {
        const log = await api(server, 'GET', `/api/apps/slowpoke/builds/${builds.json[0].id}/log`);
        if (log.body.includes('sleep 60')) break;
      }
      await sleep(200);
    }
    await server.kill();
    const result = await pushing;
    await sleep(1000);
    await server.restart();
    const seen = await load.end();
    expect(result.code).not.toBe(0);
    expect(seen.failures).toEqual([]);
    expect(seen.ok).toBeGreaterThan(10);
    const builds = await api(server, 'GET', '/api/apps/slowpoke/builds');
    expect(builds.json[0].status).toBe('failed');
    expect(builds.json[0].error).toMatch(/cut off/);
    const after = (await appContainers(server, 'shop')).filter((c) => c.State === 'running');
    expect(after).toHaveLength(2);
    // the container killed in rack local-a was started again, the other one adopted as is
    expect(after.map((c) => c.Id).filter((id) => before.includes(id)).length).toBeGreaterThanOrEqual(1);
    expect(await appContainers(server, 'slowpoke')).toHaveLength(0);
    // images kept: only those of releases that went live (the never-listening v3's image is gone)
    const images = await docker.listImages({ filters: { reference: [`wm-${server.installationId}/shop:*`] } });
    const live = (await api(server, 'GET', '/api/apps/shop/releases')).json
      .filter((r: { status: string }) => r.status === 'succeeded')
      .map((r: { image: string }) => r.image);
    for (const image of images) expect(image.RepoTags!.some((t) => live.includes(t))).toBe(true);
    expect(images.length).toBe(new Set(live).size);
    expect((await viaRouter(server, host)).body).toBe('hello from v1');
  });

  it('makes a second push wait for the deploy in progress', async () => {
    const a = appRepo('node-express-npm');
    writeApp(a, 'first');
    commitAll(a, 'first');
    const b = appRepo('node-express-npm');
    writeApp(b, 'second');
    commitAll(b, 'second');
    const first = push(a, remoteUrl(server, 'queue'));
    await sleep(300);
    const second = push(b, remoteUrl(server, 'queue'), '+main:main');
    const [r1, r2] = await Promise.all([first, second]);
    const results = [r1, r2];
    expect(results.filter((r) => r.output.includes('Waiting: another deploy of queue is in progress'))).toHaveLength(1);
    // git lets only one of two racing pushes move the branch; the deploys never interleave
    for (const r of results) expect(r.output.match(/Releasing v\d to local-a/g)?.length ?? 0).toBeLessThanOrEqual(1);
    const releases = await api(server, 'GET', '/api/apps/queue/releases');
    expect(releases.json.filter((r: { status: string }) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(1);
  });

  it('deploys a Dockerfile app and a static site', async () => {
    const dockerfileApp = appRepo('dockerfile-app');
    const r1 = await push(dockerfileApp, remoteUrl(server, 'boxed'));
    expect(r1.output).toMatch(/dockerfile app detected/i);
    expect(r1.code).toBe(0);
    expect((await viaRouter(server, 'boxed.localhost')).status).toBe(200);

    const site = appRepo('static-site');
    const r2 = await push(site, remoteUrl(server, 'site'));
    expect(r2.output).toMatch(/static app detected/i);
    expect(r2.code).toBe(0);
    const page = await viaRouter(server, 'site.localhost');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toBe(fs.readFileSync(path.join(site, 'index.html'), 'utf8'));
    expect((await viaRouter(server, 'site-production.localhost')).status).toBe(200);
    expect((await viaRouter(server, 'nothing-here.localhost')).status).toBe(404);
  });

  it('deploys an app whose first page takes 5 s: the default check is that web listens on $PORT', async () => {
    const slow = appRepo('slow-first-page');
    const result = await push(slow, remoteUrl(server, 'sluggish'));
    expect(result.output).toContain('is live at');
    expect(result.code).toBe(0);
    // the edge and the relay wait for a slow answer (their read timeouts are an hour)
    const page = await viaRouter(server, 'sluggish.localhost', '/', 30_000);
    expect(page).toMatchObject({ status: 200, body: 'slow hello from /' });
  });

  it('checks a path over HTTP only when app.json asks, and then holds the app to its timeout', async () => {
    const slow = appRepo('slow-first-page');
    const healthchecks = { web: [{ path: '/ready', timeout: 1, attempts: 2, wait: 0 }] };
    fs.writeFileSync(path.join(slow, 'app.json'), JSON.stringify({ healthchecks }));
    commitAll(slow, 'ask for an HTTP check');
    const result = await push(slow, remoteUrl(server, 'sluggish'), '+main:main');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('the web health check (GET /ready, app.json) failed 2 times: no answer within 1s');
    expect((await viaRouter(server, 'sluggish.localhost', '/', 30_000)).body).toBe('slow hello from /');
  });
});

function execGitReset(dir: string): void {
  writeApp(dir, 'v2');
  commitAll(dir, 'back to a listening app');
}
