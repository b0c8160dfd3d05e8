import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Git } from 'node-git-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll } from '../helpers/git.ts';
import { api, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READ_USER = 'reader';
const READ_TOKEN = 'ghp_private-read-token-42';

/** A private "GitHub" on 127.0.0.1: smart HTTP, basic auth checked on every request. */
async function fakeGitHub(reposDir: string): Promise<{ url: string; close(): void }> {
  const git = new Git(reposDir, { autoCreate: false });
  const expected = `Basic ${Buffer.from(`${READ_USER}:${READ_TOKEN}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="github"' });
      return void res.end();
    }
    git.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

const head = (dir: string) => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();

describe('push webhooks deploy the pushed commit', () => {
  let server: TestServer;
  let github: { url: string; close(): void };
  let work: string;
  let secret: string;
  const reposDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-github-'));
  const upstream = path.join(reposDir, 'site.git');

  const publish = (html: string) => {
    fs.writeFileSync(path.join(work, 'index.html'), html);
    commitAll(work, html);
    execFileSync('git', ['push', '-q', '--force', upstream, 'HEAD:main'], { cwd: work });
    return head(work);
  };
  const deliver = (
    host: 'github' | 'bitbucket',
    app: string,
    headers: Record<string, string>,
    body: unknown,
    key = secret,
  ) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const signature = `sha256=${crypto.createHmac('sha256', key).update(raw).digest('hex')}`;
    return request(`${server.apiUrl}/webhooks/${host}/${app}`, {
      method: 'POST',
      body: raw,
      headers: {
        'content-type': 'application/json',
        [host === 'github' ? 'x-hub-signature-256' : 'x-hub-signature']: signature,
        ...headers,
      },
    });
  };
  const githubPush = (commit: string, ref = 'refs/heads/main', extra: Record<string, unknown> = {}) => ({
    ref,
    before: '0'.repeat(40),
    after: commit,
    created: false,
    deleted: false,
    forced: false,
    head_commit: { id: commit, message: 'm' },
    repository: { full_name: 'acme/site', clone_url: `${github.url}/site.git` },
    ...extra,
  });
  const push = (commit: string, id: string = crypto.randomUUID(), ref?: string) =>
    deliver('github', 'site', { 'x-github-event': 'push', 'x-github-delivery': id }, githubPush(commit, ref));
  const deliveries = async (app = 'site') =>
    (await api(server, 'GET', `/api/apps/${app}/deliveries`)).json as { id: string; outcome: string; commit: string }[];
  const settle = async (app = 'site') => {
    for (let i = 0; i < 600; i++) {
      if (!(await deliveries(app)).some((d) => d.outcome === 'queued' || d.outcome === 'deploying')) return;
      await sleep(100);
    }
    throw new Error('deliveries did not settle');
  };

  beforeAll(async () => {
    server = await startServer();
    github = await fakeGitHub(reposDir);
    work = appRepo('static-site');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', upstream]);
    expect((await api(server, 'POST', '/api/apps', { name: 'site' })).status).toBe(201);
  });
  afterAll(async () => {
    github?.close();
    await server?.stop();
    await server?.cleanup();
    fs.rmSync(reposDir, { recursive: true, force: true });
  });

  it('connects an app to a private repository, refusing local clone URLs', async () => {
    for (const cloneUrl of [
      'file:///etc',
      '/srv/repo.git',
      'ext::sh -c evil',
      `http://${READ_USER}:${READ_TOKEN}@127.0.0.1/x.git`,
    ]) {
      const refused = await api(server, 'PUT', '/api/apps/site/repository', { host: 'github', cloneUrl });
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe('INVALID_CLONE_URL');
    }
    expect(
      (
        await api(server, 'PUT', '/api/apps/site/repository', {
          host: 'gitlab',
          cloneUrl: `${github.url}/site.git`,
        })
      ).status,
    ).toBe(400);
    const connected = await api(server, 'PUT', '/api/apps/site/repository', {
      host: 'github',
      cloneUrl: `${github.url}/site.git`,
      username: READ_USER,
      password: READ_TOKEN,
    });
    expect(connected.status).toBe(200);
    secret = connected.json.secret;
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    const shown = await api(server, 'GET', '/api/apps/site/repository');
    expect(shown.json).toMatchObject({ host: 'github', branches: { main: 'production' }, private: true });
    expect(shown.body).not.toContain(READ_TOKEN);
    expect(shown.body).not.toContain(secret);
  });

  it('answers ping, and refuses bad signatures, unknown apps and bad bodies without building', async () => {
    const ping = await deliver(
      'github',
      'site',
      { 'x-github-event': 'ping', 'x-github-delivery': 'ping-1' },
      { zen: 'Keep it simple.', hook_id: 1 },
    );
    expect(ping.status).toBe(200);
    const forged = await deliver(
      'github',
      'site',
      { 'x-github-event': 'push', 'x-github-delivery': 'x' },
      githubPush('a'.repeat(40)),
      'wrong-secret',
    );
    expect(forged.status).toBe(401);
    const unsigned = await request(`${server.apiUrl}/webhooks/github/site`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-github-event': 'push', 'x-github-delivery': 'y' },
    });
    expect(unsigned.status).toBe(401);
    expect(
      (await deliver('github', 'nosuchapp', { 'x-github-event': 'push', 'x-github-delivery': 'z' }, {})).status,
    ).toBe(404);
    expect((await deliver('bitbucket', 'site', { 'x-event-key': 'repo:push', 'x-request-uuid': 'z' }, {})).status).toBe(
      404,
    );
    expect(
      (await deliver('github', 'site', { 'x-github-event': 'push', 'x-github-delivery': 'bad-json' }, '{nope')).status,
    ).toBe(400);
    expect(
      (
        await deliver(
          'github',
          'site',
          { 'x-github-event': 'push', 'x-github-delivery': 'no-ref' },
          { after: 'b'.repeat(40) },
        )
      ).status,
    ).toBe(400);
    const other = await deliver(
      'github',
      'site',
      { 'x-github-event': 'issues', 'x-github-delivery': 'issue-1' },
      { action: 'opened' },
    );
    expect(other.status).toBe(202);
    expect(JSON.parse(other.body).ignored).toBe(true);
    const huge = await request(`${server.apiUrl}/webhooks/github/site`, {
      method: 'POST',
      body: Buffer.alloc(26 * 1024 * 1024, 32),
      // signed (a body without a signature is refused before its size matters)
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    }).catch(() => ({ status: 413 }));
    expect(huge.status).toBe(413);
    expect((await api(server, 'GET', '/api/apps/site/builds')).json).toEqual([]);
  });

  it('deploys the pushed commit, answering with 202 while it deploys', async () => {
    const commit = publish('<h1>one</h1>');
    const answer = await push(commit, 'delivery-1');
    expect(answer.status).toBe(202);
    await settle();
    expect((await viaRouter(server, 'site.localhost')).body).toBe('<h1>one</h1>');
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ id: 'github:delivery-1', commit, outcome: 'succeeded: v1' });
    const builds = (await api(server, 'GET', '/api/apps/site/builds')).json;
    expect(builds[0].commit).toBe(commit);
    const log = await api(server, 'GET', `/api/apps/site/builds/${builds[0].id}/log`);
    expect(log.body).toContain(`Fetching ${commit.slice(0, 7)} (main)`);
    expect(log.body).not.toContain(READ_TOKEN);
  });

  it('does not build a redelivery twice; ignores deleted and unmapped branches', async () => {
    const again = await push(head(work), 'delivery-1');
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body).duplicate).toBe(true);
    const deleted = await deliver(
      'github',
      'site',
      { 'x-github-event': 'push', 'x-github-delivery': 'del-1' },
      githubPush('0'.repeat(40), 'refs/heads/main', { deleted: true, head_commit: null }),
    );
    expect(deleted.status).toBe(202);
    expect(JSON.parse(deleted.body).reason).toMatch(/deleted/);
    const unmapped = await push(head(work), 'feature-1', 'refs/heads/feature');
    expect(unmapped.status).toBe(202);
    expect(JSON.parse(unmapped.body).reason).toBe('branch feature is not mapped to an environment');
    await sleep(500);
    expect((await api(server, 'GET', '/api/apps/site/builds')).json).toHaveLength(1);
  });

  it('deploys quick pushes in order; a newer commit supersedes one still waiting', async () => {
    const two = publish('<h1>two</h1>');
    await push(two, 'd-two');
    const three = publish('<h1>three</h1>');
    await push(three, 'd-three');
    const four = publish('<h1>four</h1>');
    await push(four, 'd-four');
    await settle();
    const outcomes = Object.fromEntries((await deliveries()).map((d) => [d.id, d.outcome]));
    expect(outcomes['github:d-two']).toBe('succeeded: v2');
    expect(outcomes['github:d-three']).toBe(`superseded by ${four.slice(0, 7)}`);
    expect(outcomes['github:d-four']).toBe('succeeded: v3');
    expect((await viaRouter(server, 'site.localhost')).body).toBe('<h1>four</h1>');
  });

  it('deploys from a Bitbucket repo:push event', async () => {
    expect((await api(server, 'POST', '/api/apps', { name: 'bbsite' })).status).toBe(201);
    const connected = await api(server, 'PUT', '/api/apps/bbsite/repository', {
      host: 'bitbucket',
      cloneUrl: `${github.url}/site.git`,
      username: READ_USER,
      password: READ_TOKEN,
    });
    const commit = publish('<h1>from bitbucket</h1>');
    const payload = {
      push: {
        changes: [
          {
            new: { type: 'branch', name: 'main', target: { type: 'commit', hash: commit } },
            old: null,
            created: true,
            closed: false,
            forced: false,
          },
        ],
      },
      repository: { full_name: 'acme/site', links: { html: { href: 'https://bitbucket.org/acme/site' } } },
    };
    const answer = await deliver(
      'bitbucket',
      'bbsite',
      { 'x-event-key': 'repo:push', 'x-request-uuid': '{bb-1}' },
      payload,
      connected.json.secret,
    );
    expect(answer.status).toBe(202);
    await settle('bbsite');
    expect((await viaRouter(server, 'bbsite.localhost')).body).toBe('<h1>from bitbucket</h1>');
  });
});
