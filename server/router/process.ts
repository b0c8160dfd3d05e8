import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';

const ROUTER_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isOurRouter(pid: number): boolean {
  try {
    return alive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(ROUTER_MAIN);
  } catch {
    return false;
  }
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface RouterProcess {
  pid: number;
  adopted: boolean;
  stop(): void;
}

/**
 * The router outlives the build server (a crash or restart of the server must not take
 * apps offline), so it is a detached process tracked by a pidfile: adopted when it is
 * already running, started otherwise.
 */
export async function ensureRouter(opts: {
  dataDir: string;
  host: string;
  port: number;
  logger: pino.Logger;
}): Promise<RouterProcess> {
  const pidFile = path.join(opts.dataDir, 'router.pid');
  const previous = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) || 0 : 0;
  const stopper = (pid: number) => () => {
    if (isOurRouter(pid)) process.kill(pid, 'SIGTERM');
  };
  if (previous && isOurRouter(previous)) {
    if (await listening(opts.host, opts.port)) return { pid: previous, adopted: true, stop: stopper(previous) };
    process.kill(previous, 'SIGTERM');
  }
  const logFd = fs.openSync(path.join(opts.dataDir, 'router.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ROUTER_MAIN], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: process.env,
  });
  fs.closeSync(logFd);
  child.unref();
  const pid = child.pid!;
  fs.writeFileSync(pidFile, `${pid}\n`);
  const deadline = Date.now() + 20_000;
  while (!(await listening(opts.host, opts.port))) {
    if (!alive(pid) || Date.now() > deadline) {
      throw new Error(
        `the router did not start on ${opts.host}:${opts.port}; see ${path.join(opts.dataDir, 'router.log')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  opts.logger.info({ pid, port: opts.port }, 'router started');
  return { pid, adopted: false, stop: stopper(pid) };
}
