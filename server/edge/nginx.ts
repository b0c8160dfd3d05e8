import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import { WidemeshError } from '../errors.ts';
import { isAlive } from '../processes.ts';

const run = promisify(execFile);
const NGINX = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

/** Where one edge's nginx keeps everything: never the system's /etc/nginx. */
export interface NginxFiles {
  prefix: string;
  config: string;
  pidFile: string;
  errorLog: string;
  controlSocket: string;
}

const args = (f: NginxFiles) => ['-p', `${f.prefix}/`, '-c', f.config, '-e', f.errorLog];

/** The master of this edge (its pidfile, and its command line names our config), if it runs. */
export function runningMaster(f: NginxFiles): number | undefined {
  const pid = fs.existsSync(f.pidFile) ? Number(fs.readFileSync(f.pidFile, 'utf8').trim()) || 0 : 0;
  if (!pid || !isAlive(pid)) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('nginx: master process') && cmdline.includes(f.config) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** `nginx -t` on a candidate config: a bad one never replaces the one serving. */
export async function checkConfig(f: NginxFiles, candidate: string): Promise<void> {
  try {
    await run(NGINX, ['-t', '-q', ...args({ ...f, config: candidate })]);
  } catch (err) {
    throw nginxError(err, 'EDGE_CONFIG_INVALID', 'nginx refused the edge configuration');
  }
}

function nginxError(err: unknown, code: string, what: string): WidemeshError {
  if ((err as { code?: string }).code === 'ENOENT')
    return new WidemeshError('EDGE_MISSING', 'nginx is not installed: apt-get install nginx (scripts/up does)', 500);
  const stderr = String((err as { stderr?: string }).stderr ?? err).trim();
  return new WidemeshError(code, `${what}: ${stderr}`, 500);
}

/** Starts the master; nginx daemonizes itself (own session), so it outlives the server. */
export async function startMaster(f: NginxFiles): Promise<number> {
  try {
    await run(NGINX, args(f));
  } catch (err) {
    throw nginxError(err, 'EDGE_START_FAILED', 'the edge (nginx) did not start');
  }
  for (let i = 0; i < 100; i++) {
    const pid = runningMaster(f);
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new WidemeshError('EDGE_START_FAILED', `nginx started but wrote no pidfile at ${f.pidFile}`, 500);
}

/** What the control socket answers: the generation of the config the serving workers run. */
function servedGeneration(f: NginxFiles): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: f.controlSocket, path: '/generation', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Waits until workers serve `generation` or a later one (a reload is asynchronous in the master). */
export async function awaitGeneration(f: NginxFiles, generation: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Number(await servedGeneration(f)) < generation) {
    if (Date.now() > deadline)
      throw new WidemeshError('EDGE_RELOAD_FAILED', `nginx did not load the new routing; see ${f.errorLog}`, 503);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The master's worker processes now (from /proc: children of the master). */
export function workersOf(master: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

function retired(pid: number): boolean {
  try {
    // a worker sets this title as it closes its listening sockets, before it finishes open requests
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return true;
  }
}

/**
 * Waits until the workers of the previous configuration take no new connection. New workers
 * answering is not enough: until an old one handles its quit signal it still accepts.
 */
export async function awaitRetired(pids: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(retired)) {
    if (Date.now() > deadline)
      throw new WidemeshError('EDGE_RELOAD_FAILED', 'old nginx workers kept accepting after the reload', 503);
    await new Promise((r) => setTimeout(r, 10));
  }
}
