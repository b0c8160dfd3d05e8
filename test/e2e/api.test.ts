import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, push, remoteUrl } from '../helpers/git.ts';
import { api, request, signIn, startServer, type TestServer } from '../helpers/server.ts';

describe('API and git access control and validation', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
    expect((await api(server, 'POST', '/api/apps', { name: 'known' })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  const routes: [string, string][] = [
    ['GET', '/api/apps'],
    ['POST', '/api/apps'],
    ['GET', '/api/apps/known'],
    ['DELETE', '/api/apps/known'],
    ['GET', '/api/apps/known/config'],
    ['PATCH', '/api/apps/known/config'],
    ['GET', '/api/apps/known/releases'],
    ['POST', '/api/apps/known/rollback'],
    ['GET', '/api/apps/known/builds'],
    ['GET', '/api/apps/known/builds/1'],
    ['GET', '/api/apps/known/builds/1/log'],
    ['GET', '/api/nothing-here'],
    ['GET', '/known.git/info/refs?service=git-receive-pack'],
    ['GET', '/known.git/info/refs?service=git-upload-pack'],
    ['POST', '/known.git/git-receive-pack'],
    ['POST', '/known.git/git-upload-pack'],
    ['GET', '/known.git/HEAD'],
  ];
  for (const [method, route] of routes) {
    it(`refuses ${method} ${route} without a valid token`, async () => {
      const none = await request(`${server.apiUrl}${route}`, { method });
      expect(none.status).toBe(401);
      const wrong = await request(`${server.apiUrl}${route}`, {
        method,
        headers: { authorization: 'Bearer wm_not-a-token' },
      });
      expect(wrong.status).toBe(401);
    });
  }

  it('stores tokens hashed, never in clear', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(`${server.dataDir}/widemesh.db`, { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
    db.close();
    expect(dump).not.toContain(server.token);
  });

  it('answers errors as {"error":{"code","message"}} with the right status', async () => {
    for (const name of ['Bad', '-x', 'a', 'x--y', 'a'.repeat(31), '../etc', 'x y', 'x-']) {
      const answer = await api(server, 'POST', '/api/apps', { name });
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe('INVALID_APP_NAME');
    }
    expect((await api(server, 'GET', '/api/apps/Bad%20Name')).json.error.code).toBe('INVALID_APP_NAME');
    expect((await api(server, 'GET', '/api/apps/missing')).status).toBe(404);
    expect((await api(server, 'GET', '/api/apps/missing')).json.error.code).toBe('APP_NOT_FOUND');
    expect((await api(server, 'GET', '/api/apps/known/config?environment=nope')).status).toBe(404);
    expect((await api(server, 'POST', '/api/apps', { name: 'known' })).status).toBe(409);
    expect((await api(server, 'PATCH', '/api/apps/known/config', { 'BAD-KEY': 'x' })).json.error.code).toBe(
      'INVALID_CONFIG',
    );
    expect((await api(server, 'PATCH', '/api/apps/known/config', { PORT: '1' })).status).toBe(400);
    expect((await api(server, 'PATCH', '/api/apps/known/config', { A: 1 })).status).toBe(400);
    expect((await api(server, 'POST', '/api/apps/known/rollback', { version: 7 })).status).toBe(404);
    const badJson = await request(`${server.apiUrl}/api/apps`, {
      method: 'POST',
      body: '{nope',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).error.code).toBe('INVALID_JSON');
  });

  it('keeps config vars set before the first deploy', async () => {
    const answer = await api(server, 'PATCH', '/api/apps/known/config', { DATABASE_URL: 'postgres://x' });
    expect(answer.status).toBe(200);
    expect(answer.json.release).toBeNull();
    expect((await api(server, 'GET', '/api/apps/known/config')).json.vars).toEqual({ DATABASE_URL: 'postgres://x' });
  });

  it('rejects a git push without credentials or with a wrong token', async () => {
    const repo = appRepo('node-express-npm');
    const anonymous = await push(repo, remoteUrl(server, 'known', null));
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.output).toMatch(/Authentication failed|could not read Username/);
    const wrong = await push(repo, remoteUrl(server, 'known', 'wm_wrong'));
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/Authentication failed/);
  });

  it('does not let a push to an invalid repository name create anything', async () => {
    const answer = await request(`${server.apiUrl}/Bad..Name.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(answer.status).toBe(404);
    expect((await api(server, 'GET', '/api/apps')).json.map((a: { name: string }) => a.name)).toEqual(['known']);
  });

  it('answers or closes a malformed git request within a bounded time', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect(server.apiPort, '127.0.0.1', () => {
        socket.write(
          `POST /known.git/git-receive-pack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\n` +
            'Content-Type: application/x-git-receive-pack-request\r\nContent-Length: 10\r\n\r\ngarbage!!!',
        );
      });
      let data = '';
      socket.on('data', (c) => (data += c));
      socket.on('close', () => resolve(data));
      socket.setTimeout(30_000, () => {
        socket.destroy();
        resolve('hung');
      });
    });
    expect(outcome).not.toBe('hung'); // the socket's own 30 s bound
  });
});

describe('dashboard sign-in: session cookie, CSRF guard, served page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    expect((await api(server, 'POST', '/api/apps', { name: 'board' })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });
  const call = (route: string, options: { method?: string; headers?: Record<string, string>; body?: unknown }) =>
    request(`${server.apiUrl}${route}`, {
      method: options.method,
      headers: { 'content-type': 'application/json', ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });

  it('trades a valid token for an HttpOnly, SameSite=Strict cookie stored only as a hash; refuses a wrong one', async () => {
    const wrong = await call('/api/session', { method: 'POST', body: { token: 'wm_wrong' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const { cookie, setCookie } = await signIn(server);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(`${server.dataDir}/widemesh.db`, { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
    db.close();
    expect(dump).not.toContain(cookie.split('=')[1]);
    expect(dump).not.toContain(server.token);
    const apps = await call('/api/apps', { headers: { cookie } });
    expect(apps.status).toBe(200);
    expect(JSON.parse(apps.body)[0]).toMatchObject({ name: 'board', environments: [{ status: 'new' }] });
    expect((await call('/api/apps', { headers: { cookie: 'widemesh_session=forged' } })).status).toBe(401);
  });

  it('refuses a change signed in by cookie without the CSRF token, or from another origin, and changes nothing', async () => {
    const { cookie, csrfToken } = await signIn(server);
    const change = { method: 'PATCH', body: { FORGED: 'yes' } };
    const bare = await call('/api/apps/board/config', { ...change, headers: { cookie } });
    expect(bare.status).toBe(403);
    expect(JSON.parse(bare.body).error.code).toBe('CSRF_TOKEN_INVALID');
    const wrong = await call('/api/apps/board/config', { ...change, headers: { cookie, 'x-csrf-token': 'nope' } });
    expect(wrong.status).toBe(403);
    const foreign = { cookie, 'x-csrf-token': csrfToken, origin: 'http://evil.example' };
    const crossSite = await call('/api/apps/board/config', { ...change, headers: foreign });
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.body).error.code).toBe('CROSS_SITE_REQUEST');
    expect((await api(server, 'GET', '/api/apps/board/config')).json.vars).toEqual({});
    const guarded = await call('/api/apps/board/config', { ...change, headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(guarded.status).toBe(200);
    expect((await api(server, 'GET', '/api/apps/board/config')).json.vars).toEqual({ FORGED: 'yes' });
  });

  it('ends the session on sign-out', async () => {
    const { cookie, csrfToken } = await signIn(server);
    expect((await call('/api/session', { headers: { cookie } })).status).toBe(200);
    expect((await call('/api/session', { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    expect(
      (await call('/api/session', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrfToken } })).status,
    ).toBe(204);
    expect((await call('/api/apps', { headers: { cookie } })).status).toBe(401);
  });

  it('serves the dashboard page for its routes under a strict Content-Security-Policy', async () => {
    for (const route of ['/', '/sign-in', '/apps/board/config']) {
      const page = await request(`${server.apiUrl}${route}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
      expect(script).toBeDefined();
      const bundle = await request(`${server.apiUrl}${script}`);
      expect(bundle.status).toBe(200);
      expect(bundle.headers['cache-control']).toMatch(/immutable/);
    }
  });
});
