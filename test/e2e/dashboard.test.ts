import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  accessibilityViolations,
  launchBrowser,
  openPage,
  screenshot,
  scrollsSideways,
  type WatchedPage,
} from '../helpers/browser.ts';
import { appRepo, commitAll, type PushResult, push, remoteUrl } from '../helpers/git.ts';
import { api, openSession, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

/**
 * The dashboard as a person uses it, in headless Chromium, against a real server with a real app
 * deployed by git push. Accessible names follow notes/dashboard-contract.md.
 */
const APP = 'board';
const HOST = `${APP}.localhost`;
const ROLLOUT_MS = 90_000;

/** A plain HTTP server on 127.0.0.1 for the duration of a test (not keeping the test run alive). */
async function serve(handler: http.RequestListener): Promise<{ port: number; close(): void }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** A page on another site (localhost is not 127.0.0.1), served without any policy, for cross-site requests. */
async function otherSite(): Promise<{ url: string; close(): void }> {
  const site = await serve((_req, res) => res.end('<!doctype html><title>elsewhere</title>'));
  return { url: `http://localhost:${site.port}/`, close: site.close };
}

/** What a build step polls (this server's builds run on the host's network) until the test lets it go on. */
async function buildGate(): Promise<{ url: string; open(): void; close(): void }> {
  let open = false;
  const gate = await serve((_req, res) => {
    res.statusCode = open ? 200 : 503;
    res.end();
  });
  return { url: `http://127.0.0.1:${gate.port}/`, open: () => (open = true), close: gate.close };
}

/** The build step behind the gate: says it waits, waits (two minutes at most), says it may go on. */
const GATE_SCRIPT = `const [url, stamp] = process.argv.slice(2);
console.log('waiting for the go-ahead ' + stamp);
const giveUp = setTimeout(() => { console.log('no go-ahead came'); process.exit(1); }, 120000);
const retry = () => setTimeout(ask, 200);
const ask = () => fetch(url).then((r) => { if (!r.ok) return retry(); clearTimeout(giveUp); console.log('go-ahead ' + stamp + ' received'); }, retry);
ask();
`;

/** The Releases tab's row of vN (the current one says so after its number). */
const releaseRow = (page: Page, version: number) =>
  page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^v${version}\\b`) }) });

const latestRelease = async (server: TestServer) => (await api(server, 'GET', `/api/apps/${APP}/releases`)).json[0];

describe('the dashboard in a browser', () => {
  let server: TestServer;
  let repo: string;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;

  beforeAll(async () => {
    // the live build-log test holds a build step open on a gate served on loopback, which an
    // isolated build cannot reach (that isolation is build-isolation.test.ts's subject)
    server = await startServer({ WIDEMESH_BUILD_NETWORK: 'host' });
    repo = appRepo('dashboard-node');
    const first = await push(repo, remoteUrl(server, APP));
    expect(first.code, first.output).toBe(0);
    browser = await launchBrowser();
    watched = await openPage(browser, server.apiUrl);
    page = watched.page;
  });
  afterEach(() => watched.assertNoProblems());
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await server?.cleanup();
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
  });

  it('refuses a wrong token: an alert on the sign-in page, and the API refuses a made-up session cookie', async () => {
    watched.allow(/status of 401/); // the session check on load and the refused sign-in
    await page.goto('/');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('API token').fill('wm_not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'that token is not valid' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.getByLabel('API token').isVisible()).toBe(true);
    await screenshot(page, 'sign-in-refused');

    const { cookie } = await openSession(server);
    const [name] = cookie.split('=');
    const bogus = await request(`${server.apiUrl}/api/apps`, { headers: { cookie: `${name}=made-up-session` } });
    expect(bogus.status).toBe(401);
  });

  it('sets an HttpOnly SameSite=Strict session cookie, and serves the dashboard under a strict CSP', async () => {
    const refused = await openSession(server, 'wm_not-the-token');
    expect(refused.answer.status).toBe(401);
    expect(refused.setCookie).toEqual([]);
    const { answer, setCookie } = await openSession(server);
    expect(answer.status).toBe(201);
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(/;\s*HttpOnly/i);
    expect(setCookie[0]).toMatch(/;\s*SameSite=Strict/i);
    expect(setCookie[0]).not.toContain(server.token);

    for (const route of ['/', '/sign-in', `/apps/${APP}/config`]) {
      const doc = await request(`${server.apiUrl}${route}`);
      expect(doc.status, route).toBe(200);
      expect(doc.body).toContain('<div id="root">');
      const csp = String(doc.headers['content-security-policy']);
      expect(csp, route).toMatch(/default-src '(none|self)'/);
      expect(csp, route).toMatch(/script-src 'self'/);
      expect(csp, route).toMatch(/style-src 'self'/);
      expect(csp, route).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    }
  });

  it('signs in with the admin token and lists the app, live at v1', async () => {
    watched.allow(/status of 401/); // the session check on load
    await page.goto('/sign-in');
    await page.getByLabel('API token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: APP, exact: true }) });
    await row.getByRole('cell', { name: 'live', exact: true }).waitFor();
    await row.getByRole('cell', { name: 'v1', exact: true }).waitFor();
    await row.getByRole('cell', { name: 'production', exact: true }).waitFor();
    expect(await page.getByRole('link', { name: APP, exact: true }).getAttribute('href')).toBe(`/apps/${APP}`);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    await screenshot(page, 'app-list');
  });

  it('reaches the skip link first by keyboard, with a visible focus outline', async () => {
    await page.goto('/');
    await page.getByRole('link', { name: APP, exact: true }).waitFor();
    await page.keyboard.press('Tab');
    const focused = page.locator(':focus');
    expect(await focused.textContent()).toBe('Skip to content');
    expect(await focused.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none');
    // past the header: the next stop is inside the main content
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    const main = page.getByRole('main');
    expect(await main.evaluate((el) => el !== document.activeElement && el.contains(document.activeElement))).toBe(
      true,
    );
  });

  it('fits a phone (375 px) without sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      const pages = [
        ['/', 'app-list-375', page.getByRole('link', { name: APP, exact: true })],
        [`/apps/${APP}`, 'overview-375', page.getByRole('article', { name: /^production\b/ })],
        [`/apps/${APP}/releases`, 'releases-375', page.getByRole('rowheader', { name: /^v1\b/ })],
        [`/apps/${APP}/timeline`, 'timeline-375', page.getByRole('img', { name: 'Deploy timeline of production' })],
      ] as const;
      for (const [route, name, shown] of pages) {
        await page.goto(route);
        await shown.waitFor();
        await screenshot(page, name);
        expect(await scrollsSideways(page), route).toBe(false);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('shows each environment on the app page: release, racks, instances', async () => {
    await page.goto('/');
    await page.getByRole('link', { name: APP, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: APP }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/apps/${APP}`);
    const sections = page.getByRole('navigation', { name: 'App sections' });
    for (const tab of ['Overview', 'Config', 'Releases', 'Builds', 'Domains', 'Logs', 'Timeline'])
      expect(await sections.getByRole('link', { name: tab }).count(), tab).toBe(1);
    expect(await page.getByLabel('Environment').inputValue()).toBe('production');
    const card = page.getByRole('article', { name: /^production\b/ });
    await card.getByText('v1', { exact: true }).waitFor();
    // each rack with its release and instance count, and the web instance running there
    for (const rack of ['local-a', 'local-b']) {
      await card.getByText(new RegExp(`\\b${rack}\\b.*\\bv1\\b.*\\b1 instance\\b`)).waitFor();
      await card
        .getByRole('listitem')
        .filter({ hasText: new RegExp(`\\b${rack}\\b`) })
        .filter({ hasText: /\bup\b/, hasNot: page.getByRole('listitem') })
        .waitFor();
    }
    await card.getByText('web', { exact: true }).first().waitFor();
    await screenshot(page, 'overview');
  });

  it('sets a config var in the Config tab: a new release goes live and the app sees the value', async () => {
    await page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name: 'Config' }).click();
    await page.getByLabel('Name').fill('GREETING');
    await page.getByLabel('Value').fill('hello from the dashboard');
    await page.getByRole('button', { name: 'Set config var' }).click();
    await page.getByRole('status').filter({ hasText: 'v2 is live' }).waitFor({ timeout: ROLLOUT_MS });
    expect(new URL(page.url()).pathname).toBe(`/apps/${APP}/config`);
    expect((await viaRouter(server, HOST)).body).toBe('v1 hello from the dashboard');

    // the value stays hidden until asked for
    const row = page.getByRole('row').filter({ hasText: 'GREETING' });
    expect(await row.textContent()).not.toContain('hello from the dashboard');
    expect(await row.textContent()).toContain('••••••');
    await row.getByRole('button', { name: 'Reveal GREETING' }).click();
    await row.getByText('hello from the dashboard').first().waitFor();
    await screenshot(page, 'config');
    await row.getByRole('button', { name: 'Hide GREETING' }).click();
    await row.getByText('••••••').first().waitFor();
    expect(await row.getByRole('button', { name: 'Unset GREETING' }).count()).toBe(1);

    await page.getByRole('link', { name: 'Releases' }).click();
    await releaseRow(page, 2).filter({ hasText: 'Set GREETING config vars' }).waitFor();
  });

  it('rolls back in the Releases tab after a confirmation: the rollback release is live', async () => {
    await page.goto(`/apps/${APP}/releases`);
    const rollBack = page.getByRole('button', { name: 'Roll back to v1' });
    await rollBack.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await latestRelease(server)).version).toBe(2);

    await rollBack.click();
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('status').filter({ hasText: 'Rolled back: v3 is live' }).waitFor({ timeout: ROLLOUT_MS });
    await releaseRow(page, 3).filter({ hasText: 'Rollback to v1' }).filter({ hasText: 'current' }).waitFor();
    // the current one has no roll back, only its release output
    expect(
      await releaseRow(page, 3)
        .getByRole('button', { name: /^Roll back/ })
        .count(),
    ).toBe(0);
    await releaseRow(page, 3).getByRole('button', { name: 'Release output of v3' }).waitFor();
    await releaseRow(page, 2).getByRole('button', { name: 'Roll back to v2' }).waitFor();
    expect(await latestRelease(server)).toMatchObject({
      version: 3,
      status: 'succeeded',
      description: 'Rollback to v1',
    });
    const app = (await api(server, 'GET', `/api/apps/${APP}`)).json;
    expect(app.environments[0]).toMatchObject({ name: 'production', release: 3 });
    expect((await viaRouter(server, HOST)).body).toBe('v1 unset');
    await screenshot(page, 'releases');
  });

  it("streams a build's log live on its page while git push runs, then its end", async () => {
    // the Logs tab, opened before the push: does it show the push's build as it runs?
    const logsTab = await watched.newPage();
    await logsTab.goto(`/apps/${APP}/logs`);
    await logsTab.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await page.goto(`/apps/${APP}/builds`);
    await page.getByRole('link', { name: 'Build 1', exact: true }).waitFor();

    // a build step that waits for this test's go-ahead: its first lines exist while the push surely runs
    const gate = await buildGate();
    const stamp = String(Date.now());
    fs.writeFileSync(path.join(repo, 'version.txt'), 'v2\n');
    fs.writeFileSync(path.join(repo, 'gate.js'), GATE_SCRIPT);
    const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
    const step = `COPY gate.js ./\nRUN node gate.js ${gate.url} ${stamp}\n`;
    fs.writeFileSync(path.join(repo, 'Dockerfile'), dockerfile.replace('COPY server.js', `${step}COPY server.js`));
    commitAll(repo, 'v2, built in steps');
    let pushed: PushResult | undefined;
    const pushing = push(repo, remoteUrl(server, APP)).then((result) => (pushed = result));
    const log = page.getByRole('log', { name: 'Build 2 log' });
    try {
      await page.getByRole('link', { name: 'Build 2', exact: true }).click({ timeout: 30_000 }); // the tab polls
      await log.getByText(`waiting for the go-ahead ${stamp}`).first().waitFor({ timeout: 60_000 });
      expect(pushed).toBeUndefined();
      expect(await log.textContent()).toContain('Building image');
      await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
      await screenshot(page, 'build-log-live');
      // the Logs tab, opened before the push, shows the new build as it runs
      await logsTab
        .getByRole('log', { name: 'Log lines' })
        .getByText(`waiting for the go-ahead ${stamp}`)
        .first()
        .waitFor({ timeout: 10_000 });
    } finally {
      gate.open();
    }
    await log.getByText(`go-ahead ${stamp} received`).first().waitFor({ timeout: 30_000 });
    const result = await pushing;
    gate.close();
    expect(result.code, result.output).toBe(0);
    await log
      .getByText(/Done in/)
      .first()
      .waitFor();
    await page.getByText('Build 2 succeeded').first().waitFor();
    expect((await viaRouter(server, HOST)).body).toBe('v2 unset');
    await screenshot(page, 'build-log-done');
    await screenshot(logsTab, 'logs-during-push');
    await logsTab.close();
  });

  it("follows the app's own log lines in the Logs tab", async () => {
    await page.goto(`/apps/${APP}/logs`);
    await page.getByLabel('Source').selectOption('app');
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    const log = page.getByRole('log', { name: 'Log lines' });
    const marker = `/from-the-test-${Date.now()}`;
    // the server attaches to the instances' output within a second or so: ask until a line shows
    await expect
      .poll(
        async () => {
          expect((await viaRouter(server, HOST, marker)).status).toBe(200);
          return log.textContent();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain(`served GET ${marker}`);
    expect(await log.getByText(marker).first().textContent()).toContain('served GET');
    expect(await log.textContent()).toMatch(/local-a|local-b/);
    await screenshot(page, 'logs-app');
  });

  it('refuses a change without the CSRF header, or from another site; nothing changes', async () => {
    watched.allow(/status of 403/); // the refused fetch below
    await page.goto(`/apps/${APP}/config`);
    const before = (await api(server, 'GET', `/api/apps/${APP}/config`)).json.vars;
    const answer = await page.evaluate(async (app) => {
      const res = await fetch(`/api/apps/${app}/config`, {
        method: 'PATCH',
        body: JSON.stringify({ FORGED: 'yes' }),
        headers: { 'content-type': 'application/json' },
      });
      return { status: res.status, body: await res.text() };
    }, APP);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error.code).toBe('CSRF_TOKEN_INVALID');

    // another site's request with the session cookie: refused for its Origin, even were the CSRF token known
    const { cookie, csrfToken } = await openSession(server);
    for (const headers of [{}, { 'x-csrf-token': String(csrfToken) }] as Record<string, string>[]) {
      const forged = await request(`${server.apiUrl}/api/apps/${APP}/rollback`, {
        method: 'POST',
        headers: { cookie, origin: 'http://evil.example', 'content-type': 'text/plain', ...headers },
        body: JSON.stringify({ version: 2 }),
      });
      expect(forged.status).toBe(403);
      expect(JSON.parse(forged.body).error.code).toBe('CROSS_SITE_REQUEST');
    }

    // and from a page of another site in this signed-in browser (SameSite keeps the cookie home)
    const elsewhere = await otherSite();
    const other = await watched.context.newPage();
    try {
      await other.goto(elsewhere.url);
      await other.evaluate(
        ([url, app]) =>
          fetch(`${url}/api/apps/${app}/rollback`, {
            method: 'POST',
            mode: 'no-cors',
            credentials: 'include',
            headers: { 'content-type': 'text/plain' },
            body: JSON.stringify({ version: 2 }),
          }).catch(() => undefined),
        [server.apiUrl, APP],
      );
    } finally {
      await other.close();
      elsewhere.close();
    }
    expect((await api(server, 'GET', `/api/apps/${APP}/config`)).json.vars).toEqual(before);
    expect((await latestRelease(server)).version).toBe(4);
  });

  it('draws the deploy timeline, with the same data as a table', async () => {
    await page.goto(`/apps/${APP}/timeline`);
    const chart = page.getByRole('img', { name: 'Deploy timeline of production' });
    await chart.waitFor();
    expect(await chart.locator('text').allTextContents()).toEqual(expect.arrayContaining(['v1', 'v2', 'v3', 'v4']));
    const table = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Phase' }) });
    const steps = (version: number) =>
      table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: `v${version}`, exact: true }) });
    // v4 was built and rolled out in both racks; v3, a rollback, was only rolled out
    for (const phase of ['Build', 'Rollout'])
      await steps(4)
        .filter({ has: page.getByRole('cell', { name: phase, exact: true }) })
        .first()
        .waitFor();
    expect(await steps(4).count()).toBe(3);
    expect(
      await steps(3)
        .filter({ has: page.getByRole('cell', { name: 'Build', exact: true }) })
        .count(),
    ).toBe(0);
    expect(
      await steps(3)
        .filter({ has: page.getByRole('cell', { name: 'local-b', exact: true }) })
        .count(),
    ).toBe(1);
    await screenshot(page, 'timeline');
  });

  it('promotes staging to production after a confirmation', async () => {
    expect((await api(server, 'POST', `/api/apps/${APP}/environments`, { name: 'staging' })).status).toBe(201);
    fs.writeFileSync(path.join(repo, 'version.txt'), 'staged\n');
    commitAll(repo, 'staged');
    const staged = await push(repo, remoteUrl(server, APP), 'HEAD:staging');
    expect(staged.code, staged.output).toBe(0);
    await page.goto(`/apps/${APP}/releases?environment=staging`);
    await page.getByRole('button', { name: 'Promote to production' }).click();
    const dialog = page.getByRole('dialog', { name: /Promote staging v1 to production/ });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.count()).toBe(0);
    expect((await viaRouter(server, HOST)).body).not.toContain('staged');
    await page.getByRole('button', { name: 'Promote to production' }).click();
    await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Promoted: v\d+ is live in production/ })
      .waitFor({ timeout: ROLLOUT_MS });
    expect((await viaRouter(server, HOST)).body).toMatch(/^staged /);
  });

  it('meets WCAG 2.1 AA on every page (axe-core: contrast, names, landmarks, keyboard)', async () => {
    const pages = ['/', `/apps/${APP}`, 'config', 'releases', 'builds', 'builds/1', 'domains', 'logs', 'timeline'];
    for (const route of pages) {
      await page.goto(route.startsWith('/') ? route : `/apps/${APP}/${route}`);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => {}); // the log pages keep a websocket open
      expect(await accessibilityViolations(page), route).toEqual([]);
    }
  });

  it('signs out: back to the sign-in page, and the old session is gone', async () => {
    watched.allow(/status of 401/); // the session check after signing out
    const [cookie] = await watched.context.cookies();
    await page.goto(`/apps/${APP}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await accessibilityViolations(page), 'the sign-in page').toEqual([]);
    const stale = await request(`${server.apiUrl}/api/session`, {
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
    });
    expect(stale.status).toBe(401);
  });
});
