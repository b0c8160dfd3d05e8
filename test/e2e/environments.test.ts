import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Git } from 'node-git-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import {
  api,
  docker,
  instanceContainers,
  request,
  startServer,
  type TestServer,
  viaRouter,
} from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();

/** A public "GitHub" on 127.0.0.1 serving bare repositories over smart HTTP. */
async function fakeGitHub(reposDir: string): Promise<{ url: string; close(): void }> {
  const repos = new Git(reposDir, { autoCreate: false });
  const server = http.createServer((req, res) => repos.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

describe('environments: staging, previews, promotion', () => {
  let server: TestServer;
  let github: { url: string; close(): void };
  let work: string;
  let remote: string;
  const reposDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-github-'));
  const upstream = path.join(reposDir, 'shop.git');

  /** Commits a new version of the app on the checked-out branch. */
  const release = (version: string) => {
    fs.writeFileSync(path.join(work, 'version.txt'), `${version}\n`);
    commitAll(work, version);
    return git(work, 'rev-parse', 'HEAD');
  };
  const environmentNames = async () =>
    ((await api(server, 'GET', '/api/apps/shop/environments')).json as { name: string }[]).map((e) => e.name).sort();
  const containers = (environment: string) => instanceContainers(server, [`widemesh.environment=${environment}`]);
  const images = (environment: string) =>
    docker
      .listImages({ filters: { reference: [`wm-${server.installationId}/shop:${environment}-*`] } })
      .then((list) =>
        list.flatMap((i) => i.RepoTags ?? []).filter((t) => t.split(':')[1]!.startsWith(`${environment}-`)),
      );
  const builds = async () => {
    const envs = await environmentNames();
    const all = await Promise.all(envs.map((e) => api(server, 'GET', `/api/apps/shop/builds?environment=${e}`)));
    return all.flatMap((a) => a.json as { id: number }[]);
  };

  /** The environment, its endpoint, instances and images are gone; production serves on. */
  const expectGone = async (environment: string, left = ['production', 'staging']) => {
    expect(await environmentNames()).toEqual(left);
    expect((await viaRouter(server, `shop-${environment}.localhost`)).status).toBe(404);
    expect(await containers(environment)).toEqual([]);
    expect(await images(environment)).toEqual([]);
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v2 prod-hello');
  };

  let secret: string;
  const deliver = (host: 'github' | 'bitbucket', event: string, body: unknown) => {
    const raw = JSON.stringify(body);
    const signature = `sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`;
    const headers: Record<string, string> =
      host === 'github'
        ? { 'x-github-event': event, 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': signature }
        : { 'x-event-key': event, 'x-request-uuid': `{${crypto.randomUUID()}}`, 'x-hub-signature': signature };
    return request(`${server.apiUrl}/webhooks/${host}/shop`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'application/json', ...headers },
    });
  };
  const outcomeOf = async (commit: string, done: (outcome: string) => boolean) => {
    for (let i = 0; i < 900; i++) {
      const deliveries = (await api(server, 'GET', '/api/apps/shop/deliveries')).json as {
        commit: string;
        outcome: string;
      }[];
      const outcome = deliveries.find((d) => d.commit === commit)?.outcome ?? '';
      if (done(outcome)) return outcome;
      await sleep(100);
    }
    throw new Error(`the delivery of ${commit} did not finish`);
  };

  beforeAll(async () => {
    server = await startServer();
    github = await fakeGitHub(reposDir);
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', upstream]);
    work = appRepo('env-node');
    remote = remoteUrl(server, 'shop');
    const first = await push(work, remote);
    expect(first.code, first.output).toBe(0);
  });
  afterAll(async () => {
    github?.close();
    await server?.stop();
    await server?.cleanup();
    fs.rmSync(reposDir, { recursive: true, force: true });
  });

  it('refuses bad names, unknown environments and deleting production, naming the value; production keeps serving', async () => {
    const bad = await api(server, 'POST', '/api/apps/shop/environments', { name: 'Bad_Name' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'INVALID_ENVIRONMENT_NAME' });
    expect(bad.json.error.message).toContain('"Bad_Name"');
    const long = await api(server, 'POST', '/api/apps/shop/environments', { name: `s${'x'.repeat(40)}` });
    expect(long.json.error.code).toBe('INVALID_ENVIRONMENT_NAME');
    const again = await api(server, 'POST', '/api/apps/shop/environments', { name: 'production' });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ENVIRONMENT_EXISTS');
    const production = await api(server, 'DELETE', '/api/apps/shop/environments/production');
    expect(production.status).toBe(409);
    expect(production.json.error.code).toBe('PRODUCTION_UNDELETABLE');
    const unknown = await api(server, 'DELETE', '/api/apps/shop/environments/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
    expect(unknown.json.error.message).toContain('"nope"');
    const promote = await api(server, 'POST', '/api/apps/shop/promote', { from: 'nope', to: 'production' });
    expect(promote.status).toBe(404);
    expect(promote.json.error.message).toContain('"nope"');
    expect((await api(server, 'GET', '/api/apps/shop/config?environment=nope')).status).toBe(404);
    expect(await environmentNames()).toEqual(['production']);
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v1 unset');
  });

  it('serves production and staging side by side, each with its own code and config', async () => {
    const created = await api(server, 'POST', '/api/apps/shop/environments', { name: 'staging' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'staging', branch: 'staging', preview: false, release: null });
    expect(created.json.url).toBe(`http://shop-staging.localhost:${server.routerPort}/`);
    expect((await api(server, 'PATCH', '/api/apps/shop/config', { GREETING: 'prod-hello' })).status).toBe(200);
    const staged = await api(server, 'PATCH', '/api/apps/shop/config?environment=staging', { GREETING: 'stage-hi' });
    expect(staged.status).toBe(200);
    git(work, 'checkout', '-q', '-b', 'staging');
    release('v2');
    const pushed = await push(work, remote, 'staging');
    expect(pushed.code, pushed.output).toBe(0);
    expect(pushed.output).toContain('Receiving shop (staging)');
    expect(pushed.output).toContain(`is live at http://shop-staging.localhost:${server.routerPort}/`);
    expect((await viaRouter(server, 'shop-staging.localhost')).body).toBe('v2 stage-hi');
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v1 prod-hello');
    expect((await viaRouter(server, 'shop-production.localhost')).body).toBe('v1 prod-hello');
  });

  it("never lets one environment's config vars reach another", async () => {
    const set = await api(server, 'PATCH', '/api/apps/shop/config?environment=staging', {
      STAGE_TOKEN: 'only-in-staging',
    });
    expect(set.status).toBe(200);
    expect((await api(server, 'GET', '/api/apps/shop/config')).json.vars).toEqual({ GREETING: 'prod-hello' });
    expect((await api(server, 'GET', '/api/apps/shop/config?environment=staging')).json.vars).toEqual({
      GREETING: 'stage-hi',
      STAGE_TOKEN: 'only-in-staging',
    });
    const [current] = (await api(server, 'GET', '/api/apps/shop/releases')).json;
    expect(current.configKeys).toEqual(['GREETING']);
    const running = await containers('production');
    expect(running).toHaveLength(2);
    for (const c of running) {
      const env = (await docker.getContainer(c.Id).inspect()).Config.Env.join('\n');
      expect(env).toContain('GREETING=prod-hello');
      expect(env).not.toContain('only-in-staging');
      expect(env).not.toContain('stage-hi');
    }
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v1 prod-hello');
  });

  it("promotes staging's image to production with production's config, without a build", async () => {
    const before = (await builds()).length;
    const promoted = await api(server, 'POST', '/api/apps/shop/promote', { from: 'staging', to: 'production' });
    expect(promoted.status, promoted.body).toBe(200);
    expect(promoted.json.release.description).toBe('Promote staging v2');
    expect(promoted.json.release.configKeys).toEqual(['GREETING']);
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v2 prod-hello');
    expect((await viaRouter(server, 'shop-staging.localhost')).body).toBe('v2 stage-hi');
    expect((await builds()).length).toBe(before);
    const [production] = (await api(server, 'GET', '/api/apps/shop/releases')).json;
    const [staging] = (await api(server, 'GET', '/api/apps/shop/releases?environment=staging')).json;
    const imageId = async (tag: string) => (await docker.getImage(tag).inspect()).Id;
    expect(await imageId(production.image)).toBe(await imageId(staging.image));
    expect(production.buildId).toBe(staging.buildId);
  });

  it('deploys a preview for a branch push once previews are on, and deletes it with the branch', async () => {
    git(work, 'checkout', '-q', '-b', 'feature/Login_Page');
    release('v3');
    const off = await push(work, remote, 'feature/Login_Page');
    expect(off.code).toBe(0);
    expect(off.output).toContain('pushed but not deployed');
    expect(await environmentNames()).toEqual(['production', 'staging']);

    expect((await api(server, 'PATCH', '/api/apps/shop', { previews: true })).json).toEqual({
      name: 'shop',
      previews: true,
    });
    release('v4');
    const on = await push(work, remote, 'feature/Login_Page');
    expect(on.code, on.output).toBe(0);
    expect(on.output).toContain('Preview environment feature-login-page created');
    const app = (await api(server, 'GET', '/api/apps/shop')).json;
    expect(app.environments.find((e: { name: string }) => e.name === 'feature-login-page')).toMatchObject({
      branch: 'feature/Login_Page',
      preview: true,
      release: 1,
    });
    // a copy of production's config
    expect((await viaRouter(server, 'shop-feature-login-page.localhost')).body).toBe('v4 prod-hello');
    expect((await containers('feature-login-page')).length).toBe(2);
    expect((await images('feature-login-page')).length).toBeGreaterThan(0);

    const deleted = await push(work, remote, ':feature/Login_Page');
    expect(deleted.code, deleted.output).toBe(0);
    expect(deleted.output).toContain('preview environment feature-login-page removed');
    await expectGone('feature-login-page');
  });

  it('rejects a preview whose name is taken by an environment, changing nothing that serves', async () => {
    git(work, 'checkout', '-q', '-b', 'Staging');
    release('v5');
    const pushed = await push(work, remote, 'Staging');
    expect(pushed.code).not.toBe(0);
    expect(pushed.output).toMatch(/PREVIEW_NAME_TAKEN|the preview "staging" for Staging would replace an environment/);
    expect(pushed.output).toContain('pre-receive hook declined');
    expect(await environmentNames()).toEqual(['production', 'staging']);
    expect((await viaRouter(server, 'shop-staging.localhost')).body).toBe('v2 stage-hi');
    expect((await viaRouter(server, 'shop.localhost')).body).toBe('v2 prod-hello');
  });

  it('deploys a preview for an opened pull request and deletes it when the pull request closes', async () => {
    const connected = await api(server, 'PUT', '/api/apps/shop/repository', {
      host: 'github',
      cloneUrl: `${github.url}/shop.git`,
    });
    expect(connected.status).toBe(200);
    secret = connected.json.secret;
    git(work, 'checkout', '-q', '-b', 'pr-branch');
    const commit = release('v6');
    execFileSync('git', ['push', '-q', upstream, 'HEAD:refs/heads/pr-branch', 'HEAD:refs/pull/7/head'], { cwd: work });
    const pullRequest = (action: string) => ({
      action,
      number: 7,
      pull_request: { number: 7, state: 'open', head: { ref: 'pr-branch', sha: commit }, base: { ref: 'main' } },
      repository: { full_name: 'acme/shop', clone_url: `${github.url}/shop.git` },
    });
    const opened = await deliver('github', 'pull_request', pullRequest('opened'));
    expect(opened.status, opened.body).toBe(202);
    expect(JSON.parse(opened.body)).toMatchObject({ queued: true, environment: 'pr-7' });
    expect(await outcomeOf(commit, (o) => !['queued', 'deploying'].includes(o))).toBe('succeeded: v1');
    expect((await viaRouter(server, 'shop-pr-7.localhost')).body).toBe('v6 prod-hello');

    const closed = await deliver('github', 'pull_request', pullRequest('closed'));
    expect(closed.status).toBe(202);
    expect(JSON.parse(closed.body)).toEqual({ removing: 'pr-7' });
    expect(await outcomeOf(commit, (o) => o.startsWith('preview') || o.startsWith('failed'))).toBe(
      'preview pr-7 removed',
    );
    await expectGone('pr-7');
  });

  it('does the same for a Bitbucket pull request, which names its commit by a short hash', async () => {
    const connected = await api(server, 'PUT', '/api/apps/shop/repository', {
      host: 'bitbucket',
      cloneUrl: `${github.url}/shop.git`,
    });
    secret = connected.json.secret;
    const commit = release('v7').slice(0, 12);
    execFileSync('git', ['push', '-q', upstream, 'HEAD:refs/heads/pr-branch'], { cwd: work });
    const pullRequest = {
      pullrequest: { id: 8, state: 'OPEN', source: { branch: { name: 'pr-branch' }, commit: { hash: commit } } },
      repository: { full_name: 'acme/shop' },
    };
    expect((await deliver('bitbucket', 'pullrequest:created', pullRequest)).status).toBe(202);
    expect(await outcomeOf(commit, (o) => !['queued', 'deploying'].includes(o))).toBe('succeeded: v1');
    expect((await viaRouter(server, 'shop-pr-8.localhost')).body).toBe('v7 prod-hello');
    const declined = { pullrequest: { ...pullRequest.pullrequest, state: 'DECLINED' } };
    expect((await deliver('bitbucket', 'pullrequest:rejected', declined)).status).toBe(202);
    expect(await outcomeOf(commit, (o) => o.startsWith('preview') || o.startsWith('failed'))).toBe(
      'preview pr-8 removed',
    );
    await expectGone('pr-8');
  });

  it('removes a preview whose pull request closes while it builds, once the build is over', async () => {
    fs.appendFileSync(path.join(work, 'Dockerfile'), 'RUN sleep 3\n');
    const commit = release('v8').slice(0, 12);
    execFileSync('git', ['push', '-q', '--force', upstream, 'HEAD:refs/heads/pr-branch'], { cwd: work });
    const pullrequest = { id: 9, state: 'OPEN', source: { branch: { name: 'pr-branch' }, commit: { hash: commit } } };
    expect((await deliver('bitbucket', 'pullrequest:created', { pullrequest })).status).toBe(202);
    expect(await outcomeOf(commit, (o) => o !== 'queued')).toBe('deploying');
    const closed = await deliver('bitbucket', 'pullrequest:fulfilled', {
      pullrequest: { ...pullrequest, state: 'MERGED' },
    });
    expect(JSON.parse(closed.body)).toEqual({ removing: 'pr-9' });
    expect(await outcomeOf(commit, (o) => o.startsWith('preview') || o.startsWith('failed'))).toBe(
      'preview pr-9 removed',
    );
    const deliveries = (await api(server, 'GET', '/api/apps/shop/deliveries')).json as {
      event: string;
      outcome: string;
    }[];
    expect(deliveries.find((d) => d.event === 'pullrequest:created')?.outcome).toBe('succeeded: v1');
    await expectGone('pr-9');
  });

  it('deletes a staging environment with its instances, keeping the image production was promoted to', async () => {
    const deleted = await api(server, 'DELETE', '/api/apps/shop/environments/staging');
    expect(deleted.json).toEqual({ deleted: 'staging' });
    await expectGone('staging', ['production']);
    const [production] = (await api(server, 'GET', '/api/apps/shop/releases')).json;
    await docker.getImage(production.image).inspect();
  });

  it('deletes the app while a push builds: the build ends first, and the edge answers the app or 404, never 502', async () => {
    git(work, 'checkout', '-q', 'main');
    fs.appendFileSync(path.join(work, 'Dockerfile'), 'RUN sleep 3\n');
    release('v9');
    const pushed = push(work, remote);
    const building = async () =>
      ((await api(server, 'GET', '/api/apps/shop/builds')).json as { status: string }[]).some(
        (b) => b.status === 'building',
      );
    while (!(await building())) await sleep(100);
    let deleting = true;
    const deleted = api(server, 'DELETE', '/api/apps/shop').finally(() => {
      deleting = false;
    });
    const answers = new Set<number>();
    while (deleting) {
      answers.add((await viaRouter(server, 'shop.localhost')).status);
      await sleep(20);
    }
    expect((await deleted).json).toEqual({ deleted: 'shop' });
    await pushed;
    expect([...answers].filter((status) => status !== 200 && status !== 404)).toEqual([]);
    expect((await viaRouter(server, 'shop.localhost')).status).toBe(404);
    expect(await instanceContainers(server, ['widemesh.app=shop'])).toEqual([]);
    expect(await docker.listImages({ filters: { reference: [`wm-${server.installationId}/shop:*`] } })).toEqual([]);
  });
});
