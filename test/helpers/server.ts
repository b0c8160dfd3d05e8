import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { freePort } from './net.ts';

export const docker = new Docker();
const ROOT = path.resolve(import.meta.dirname, '../..');

export interface TestServer {
  apiUrl: string;
  apiPort: number;
  routerPort: number;
  httpsPort: number;
  dataDir: string;
  token: string;
  installationId: string;
  output: () => string;
  /** The server process's pid (for /proc measurements). */
  pid: () => number;
  /** Graceful stop; the edge (nginx) keeps serving until cleanup(). */
  stop(): Promise<void>;
  /** SIGKILL: the edge (nginx) and the apps' containers keep running. */
  kill(): Promise<void>;
  /** Starts the server again on the same data directory and ports. */
  restart(): Promise<void>;
  /** Removes every container and image this server's installation made. */
  cleanup(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-test-'));
  const apiPort = await freePort();
  const routerPort = env.WIDEMESH_ROUTER_PORT ? Number(env.WIDEMESH_ROUTER_PORT) : await freePort();
  const httpsPort = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        WIDEMESH_DATA: dataDir,
        WIDEMESH_PORT: String(apiPort),
        WIDEMESH_ROUTER_PORT: String(routerPort),
        WIDEMESH_EDGE_HTTPS: `127.0.0.1:${httpsPort}`,
        WIDEMESH_HEALTHCHECK_TIMEOUT: '15',
        WIDEMESH_DRAIN_MS: '1000',
        WIDEMESH_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    await new Promise<void>((resolve, reject) => {
      // a loaded machine (8 engineers on 2 cores) takes its time; a server that never says so is stopped
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`server did not start:\n${output}`));
      }, 180_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Widemesh is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}):\n${output}`));
      });
    });
  };
  await launch();
  const token = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const db = new Database(path.join(dataDir, 'widemesh.db'), { readonly: true });
  const installationId = (db.prepare("SELECT value FROM meta WHERE key = 'installation'").get() as { value: string })
    .value;
  db.close();
  const exited = (proc: ChildProcess) =>
    new Promise<void>((resolve) =>
      proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve()),
    );
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    apiPort,
    routerPort,
    httpsPort,
    dataDir,
    token,
    installationId,
    output: () => output,
    pid: () => child!.pid!,
    async stop() {
      if (!child) return;
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      if (!child) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: launch,
    async cleanup() {
      const pidFile = path.join(dataDir, 'edge', 'nginx.pid');
      const edgePid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : 0;
      try {
        if (edgePid) process.kill(edgePid, 'SIGTERM');
      } catch {
        /* already stopped */
      }
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`widemesh.installation=${installationId}`] },
      });
      await Promise.all(
        containers.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
      // by tag, never by id: a fully cached build shares its image id with another server's (a parallel
      // test's), and removing the id with force would take that server's tags away mid-deploy
      const images = await docker.listImages({ filters: { reference: [`wm-${installationId}/*`] } });
      const ours = images.flatMap((image) =>
        (image.RepoTags ?? []).filter((t) => t.startsWith(`wm-${installationId}/`)),
      );
      for (const tag of ours)
        await docker
          .getImage(tag)
          .remove()
          .catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, timeout: options.timeoutMs ?? 10_000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The API with the server's admin token. */
export function api(
  server: TestServer,
  method: string,
  route: string,
  body?: unknown,
): Promise<Answer & { json: any }> {
  return request(`${server.apiUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs: 180_000,
  }).then((a) => ({ ...a, json: a.body ? JSON.parse(a.body) : undefined }));
}

/** POST /api/session with `token`: the answer, its Set-Cookie headers, the cookie (`name=value`) and CSRF token. */
export async function openSession(server: TestServer, token = server.token) {
  const answer = await request(`${server.apiUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const setCookie = [answer.headers['set-cookie'] ?? []].flat();
  const cookie = setCookie[0]?.split(';')[0] ?? '';
  const csrfToken: string | undefined = answer.status === 201 ? JSON.parse(answer.body).csrfToken : undefined;
  return { answer, setCookie, cookie, csrfToken };
}

/** A dashboard sign-in with the admin token: the session cookie (name=value), its CSRF token, its Set-Cookie. */
export async function signIn(server: TestServer): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
  const { answer, setCookie, cookie, csrfToken } = await openSession(server);
  if (answer.status !== 201 || !csrfToken) throw new Error(`sign-in failed: ${answer.status} ${answer.body}`);
  return { cookie, csrfToken, setCookie: setCookie[0]! };
}

/** A request to an app through the router, by its endpoint host name. */
export function viaRouter(server: TestServer, host: string, route = '/', timeoutMs = 5000): Promise<Answer> {
  return request(`http://127.0.0.1:${server.routerPort}${route}`, {
    headers: { host: `${host}:${server.routerPort}` },
    timeoutMs,
  });
}

/** A server's instance containers with these labels (not the relays in front of isolated ones). */
export async function instanceContainers(server: TestServer, labels: string[]) {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`widemesh.installation=${server.installationId}`, ...labels] },
  });
  return containers.filter((c) => c.Labels['widemesh.role'] !== 'relay');
}
