import http from 'node:http';
import type { HealthCheck } from '../../buildpacks/app-json.ts';
import { WidemeshError } from '../errors.ts';

/** What a check can ask of a starting instance. */
export interface Probe {
  /** Where the instance answers HTTP (web), or undefined (other services). */
  target: HttpTarget | undefined;
  /** Throws INSTANCE_CRASHED (with its last output) when the instance is no longer running. */
  assertRunning(): Promise<void>;
  /** Seconds since the instance's process started. */
  uptimeSeconds(): Promise<number>;
  /** Whether the (web) instance listens on its PORT. */
  listening(): Promise<boolean>;
}

/** Services without a port count as healthy once they stay up this long. */
const DEFAULT_UPTIME_SECONDS = 3;
/** Each poll of a web instance runs a command in its relay: a few a second is enough. */
const POLL_MS = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback port (host network) or a relay's unix socket (isolated instances). */
export type HttpTarget = { port: number } | { socketPath: string };

/** One HTTP answer: its status and up to 64 KiB of its body; undefined when nothing answered. */
function fetchPage(
  target: HttpTarget,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const headers = { 'user-agent': 'widemesh-healthcheck', host: 'localhost' };
    const where = 'socketPath' in target ? target : { host: '127.0.0.1', port: target.port };
    const req = http.get({ ...where, path, timeout: timeoutMs, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 65536) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 500, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * The default check, Heroku's boot rule: web listens on $PORT within the deadline (no request is made, so a
 * slow first page does not count against it); other services stay up a few seconds.
 */
export async function defaultCheck(probe: Probe, service: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await probe.assertRunning();
    if (probe.target === undefined) {
      if ((await probe.uptimeSeconds()) >= DEFAULT_UPTIME_SECONDS) return;
    } else if (await probe.listening()) return;
    if (Date.now() >= deadline) {
      const seconds = Math.round(timeoutMs / 1000);
      throw new WidemeshError(
        'HEALTHCHECK_TIMEOUT',
        `the ${service} process did not listen on $PORT within ${seconds}s; ` +
          'it must listen on the port given in the PORT environment variable',
      );
    }
    await sleep(POLL_MS);
  }
}

/** app.json checks, in order: each gets its attempts; the first that runs out of them fails the start. */
export async function appJsonChecks(probe: Probe, service: string, checks: HealthCheck[]): Promise<void> {
  for (const check of checks) {
    await sleep(check.initialDelay * 1000);
    let last = '';
    for (let attempt = 1; ; attempt++) {
      await probe.assertRunning();
      last = await attemptCheck(probe, check);
      if (last === '') break;
      if (attempt >= check.attempts) {
        const what = check.path ? `GET ${check.path}` : `uptime ${check.uptime}s`;
        const message = `the ${service} health check (${what}, app.json) failed ${attempt} times: ${last}`;
        throw new WidemeshError('HEALTHCHECK_FAILED', message);
      }
      await sleep(check.wait * 1000);
    }
  }
}

/** '' when the check passes, else why not. */
async function attemptCheck(probe: Probe, check: HealthCheck): Promise<string> {
  const uptime = await probe.uptimeSeconds();
  if (uptime < check.uptime) return `up ${uptime.toFixed(1)}s of ${check.uptime}s`;
  if (!check.path) return '';
  if (probe.target === undefined) return 'a path check needs a web process (it has no port)';
  const page = await fetchPage(probe.target, check.path, check.timeout * 1000);
  if (!page) return `no answer within ${check.timeout}s`;
  if (page.status >= 400) return `status ${page.status}`;
  if (check.content !== undefined && !page.body.includes(check.content)) return `the answer lacks "${check.content}"`;
  return '';
}
