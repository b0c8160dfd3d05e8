import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, remoteUrl } from '../helpers/git.ts';
import { freePort } from '../helpers/net.ts';
import { api, docker, startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** A `git push` whose output can be read while it runs. */
function pushLive(dir: string, url: string) {
  let output = '';
  const child = spawn('git', ['push', url, 'main'], { cwd: dir });
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { output: () => output, done };
}

async function until(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The prober app with a Dockerfile of the steps given (a fresh nonce: no step comes from the cache). */
function proberRepo(steps: string[]): string {
  const dir = appRepo('build-prober');
  const dockerfile = ['FROM widemesh/stack-generic:bookworm', 'COPY probe.py /probe.py', ...steps];
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `${dockerfile.join('\n')}\n# ${process.pid}-${Date.now()}\n`);
  commitAll(dir, 'probe');
  return dir;
}

/**
 * A build step is hostile: it runs as root with a raw packet socket, and knows the platform's
 * ports. Isolated builds (the default) run in a sandbox of their own whose only way out is the
 * build proxy, which lets through the package registries alone.
 */
describe('builds run isolated from the platform', () => {
  let server: TestServer;
  let hostApp: http.Server;
  let hostAppPort: number;
  let hostAppConnections = 0;
  const repos: string[] = [];

  beforeAll(async () => {
    server = await startServer({ WIDEMESH_BUILD_MEMORY_MB: '256', WIDEMESH_BUILD_PIDS: '200' });
    // an app listening on the host's loopback, as one on the host network would
    hostAppPort = await freePort();
    hostApp = http.createServer((_req, res) => res.end('host app'));
    hostApp.on('connection', () => hostAppConnections++);
    await new Promise<void>((resolve) => hostApp.listen(hostAppPort, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    hostApp?.close();
    await server?.stop();
    await server?.cleanup();
    for (const dir of repos) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a sniffing step sees no token, reaches no platform port, and npm still installs', async () => {
    const ports = [server.apiPort, server.routerPort, server.httpsPort, hostAppPort];
    const dir = proberRepo([
      `RUN python3 /probe.py 6 ${ports.join(' ')}`,
      'RUN npm install --no-save --prefix /tmp/n is-number@7.0.0 >/dev/null && node -e "require(\'/tmp/n/node_modules/is-number\')" && echo "probe: npm install worked"',
      // apt's way: plain HTTP through the proxy to the mirror
      'RUN echo "probe: apt mirror $(curl -sS -o /dev/null -w \'%{http_code}\' http://deb.debian.org/debian/dists/bookworm/Release)"',
      'RUN echo "probe: stop here" && exit 1',
    ]);
    repos.push(dir);
    const pushing = pushLive(dir, remoteUrl(server, 'prober'));
    await until(() => pushing.output().includes('probe: sniffing'), 'the sniffer');
    // while it sniffs: the admin token crosses loopback as a bearer token and as git's basic auth
    let pushed = false;
    void pushing.done.then(() => (pushed = true));
    while (!pushed && !pushing.output().includes('probe: packets')) {
      expect((await api(server, 'GET', '/api/apps')).status).toBe(200);
      await run('git', ['ls-remote', remoteUrl(server, 'prober')]);
    }
    expect(await pushing.done).not.toBe(0);
    const output = pushing.output();
    expect(output).toContain('probe: stop here');
    expect(output).toMatch(/probe: packets \d+, canary seen/); // the sniffer works: it saw its own packet
    expect(output).not.toContain('probe: captured');
    expect(output).not.toContain(server.token);
    for (const port of ports)
      expect(output).toMatch(new RegExp(`probe: port ${port} ConnectionRefusedError; via proxy: HTTP/1.1 403`));
    expect(hostAppConnections).toBe(0);
    expect(output).toContain('probe: npm install worked');
    expect(output).toContain('probe: apt mirror 200');
  });

  it('a build over its memory limit fails, saying so', async () => {
    const dir = proberRepo(['RUN node -e "Buffer.alloc(1024 * 1024 * 1024, 1)"']);
    repos.push(dir);
    const pushing = pushLive(dir, remoteUrl(server, 'hungry'));
    expect(await pushing.done).not.toBe(0);
    expect(pushing.output()).toMatch(/the build used more than its 256 MiB of memory \(WIDEMESH_BUILD_MEMORY_MB\)/);
  });

  it('a build cannot start more processes than its limit', async () => {
    const dir = proberRepo(['RUN for i in $(seq 1 400); do sleep 30 & done; echo "probe: forked them all"']);
    repos.push(dir);
    const pushing = pushLive(dir, remoteUrl(server, 'forker'));
    expect(await pushing.done).not.toBe(0);
    expect(pushing.output()).toMatch(/can't fork|Cannot fork|Resource temporarily unavailable/);
    expect(pushing.output()).not.toMatch(/^remote:\s+probe: forked them all/m); // the step's echo, not its command line
  });

  it('frees every sandbox it used: only the spare stays', async () => {
    const sandboxes = () =>
      docker.listContainers({
        all: true,
        filters: { label: [`widemesh.installation=${server.installationId}`, 'widemesh.role=build-sandbox'] },
      });
    let found = await sandboxes();
    for (let i = 0; i < 100 && found.length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      found = await sandboxes();
    }
    expect(found).toHaveLength(1);
  });
});

/** On the server's machine the CLI need not send the token over TCP at all. */
describe('the API on a unix socket', () => {
  let server: TestServer;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-unix-cli-'));
  const cli = (...args: string[]) =>
    run(process.execPath, [path.resolve(import.meta.dirname, '../../cli/bin.js'), ...args], {
      env: { ...process.env, WIDEMESH_CONFIG: path.join(home, 'config.json'), WIDEMESH_TOKEN: server.token },
    });

  beforeAll(async () => {
    server = await startServer({ WIDEMESH_BUILD_NETWORK: 'host' });
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('is for the server user only, and the CLI logs in and works over it', async () => {
    const socket = path.join(server.dataDir, 'api.sock');
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect((await cli('login', '--url', `unix:${socket}`)).stdout).toContain(`Logged in to unix:${socket}`);
    expect((await cli('apps:create', 'viasocket')).stdout).toContain('No git remote added');
    const apps = JSON.parse((await cli('apps', '--json')).stdout);
    expect(apps.map((a: { name: string }) => a.name)).toEqual(['viasocket']);
    // the log websocket too (no builds yet: it says so and ends)
    expect((await cli('logs', '-a', 'viasocket')).stdout).toContain('(no builds yet)');
  });
});
