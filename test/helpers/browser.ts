import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Headless Chromium for the dashboard's tests: Debian's `chromium` package (scripts/test installs
 * it), driven by playwright-core, so nothing is downloaded while tests run.
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results/screenshots');

/** Playwright gives every launch a fresh temporary profile (--user-data-dir) and removes it on close. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A page (and its context's further pages) whose console errors, CSP violations and uncaught errors are kept, so a test can fail on them. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Another page of the same browser context (same session), watched like the first. */
  newPage(): Promise<Page>;
  /** What went wrong in the page so far, minus what `allow` excused. */
  problems(): string[];
  /** Excuses problems matching `pattern` until the next check (e.g. the 401 a refused sign-in logs). */
  allow(pattern: RegExp): void;
  /** Throws, listing them, when the page had problems; then starts afresh (nothing seen, nothing excused). */
  assertNoProblems(): void;
}

export async function openPage(
  browser: Browser,
  baseURL: string,
  viewport = { width: 1280, height: 800 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport });
  const seen: string[] = [];
  const allowed: RegExp[] = [];
  // A CSP violation also logs a console error; the event names the directive and what it blocked.
  await context.exposeFunction('widemeshReportViolation', (text: string) => seen.push(`CSP violation: ${text}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { widemeshReportViolation(text: string): void }).widemeshReportViolation;
      report(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline code'} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') seen.push(`console error: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => seen.push(`uncaught: ${error.stack ?? error.message}`));
    page.on('crash', () => seen.push('the page crashed'));
    return page;
  };
  const page = watch(await context.newPage());
  const problems = () => seen.filter((p) => !allowed.some((re) => re.test(p)));
  return {
    page,
    context,
    problems,
    newPage: async () => watch(await context.newPage()),
    allow: (pattern) => allowed.push(pattern),
    assertNoProblems() {
      const found = problems();
      seen.length = 0;
      allowed.length = 0;
      if (found.length > 0) throw new Error(`the page had problems:\n${found.join('\n')}`);
    },
  };
}

/** A full-page PNG under test-results/screenshots/NAME.png (gitignored), for people to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * What axe-core finds against WCAG 2.0/2.1 A and AA on the page as it is now (contrast, names,
 * labels, landmarks, roles), one line per rule broken, with up to three of the elements. The
 * script is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(...a: unknown[]): Promise<{ violations: AxeViolation[] }> } }).axe;
    const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
    return (await axe.run(document, { runOnly: { type: 'tag', values: tags } })).violations;
  });
  return violations.map(
    (v) =>
      `${v.id}: ${v.help} (${v.nodes
        .slice(0, 3)
        .map((n) => n.target.join(' '))
        .join('; ')})`,
  );
}

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

/** True when the page scrolls sideways (wider than the viewport). */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}
