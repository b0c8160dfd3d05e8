/**
 * A Docker engine of the test's own whose data root can bound a container's disk: a sparse
 * btrfs file, loop-mounted by scripts/lib/docker-disk.sh (what scripts/up does on a fresh
 * machine), and a dockerd with its own data and exec roots, socket and cgroup parent, no bridge.
 * The shared engine is never touched: the images the test needs are copied in (docker save | load).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { removeCgroups, stopChild } from './swarm.ts';
import { until } from './until.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

export interface QuotaEngine {
  /** DOCKER_HOST for a server that uses this engine */
  host: string;
  docker: Docker;
  close(): Promise<void>;
}

export async function startQuotaEngine(prefix: string, sizeGb: number, images: string[]): Promise<QuotaEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const runDir = `/run/${prefix}`;
  const mountDir = path.join(dir, 'docker');
  const socket = `${runDir}/docker.sock`;
  let dockerd: ChildProcess | undefined;
  const close = async () => {
    if (dockerd) await stopChild(dockerd);
    await run('umount', [mountDir]).catch(() => {});
    removeCgroups(prefix);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await run('bash', [
      path.join(ROOT, 'scripts/lib/docker-disk.sh'),
      path.join(dir, 'docker.img'),
      mountDir,
      `${sizeGb}`,
    ]);
    fs.mkdirSync(runDir, { recursive: true });
    dockerd = startDockerd(mountDir, runDir, socket, prefix, path.join(dir, 'dockerd.log'));
    const docker = new Docker({ socketPath: socket });
    await until('the quota engine to answer', () => docker.ping().then(() => true), 30_000, 100);
    await copyImages(images, socket);
    return { host: `unix://${socket}`, docker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** `unshare --mount --propagation slave`: the daemon's own mounts stay out of the host's mount namespace. */
function startDockerd(dataRoot: string, runDir: string, socket: string, cgroupParent: string, logFile: string) {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    'unshare',
    [
      ...['--mount', '--propagation', 'slave', '--', 'dockerd', '--storage-driver', 'btrfs'],
      ...['--data-root', dataRoot, '--exec-root', `${runDir}/exec`, '--pidfile', `${runDir}/dockerd.pid`],
      ...['-H', `unix://${socket}`, '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false'],
      ...['--cgroup-parent', cgroupParent],
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  return child;
}

/** docker save from the shared engine into this one's docker load. */
async function copyImages(images: string[], socket: string): Promise<void> {
  const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'inherit'] });
  const load = spawn('docker', ['-H', `unix://${socket}`, 'load', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
  save.stdout!.pipe(load.stdin!);
  const exitCode = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('close', resolve));
  const [saved, loaded] = await Promise.all([exitCode(save), exitCode(load)]);
  if (saved !== 0 || loaded !== 0)
    throw new Error(`copying ${images.join(', ')} failed (save ${saved}, load ${loaded})`);
}
