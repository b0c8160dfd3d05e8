import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

const BIN = path.resolve(import.meta.dirname, '../../cli/bin.js');
const PTY_DRIVE = path.resolve(import.meta.dirname, '../helpers/pty-drive.py');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP relay on 127.0.0.1 to the server whose connections the test can cut, as a dropped network would. */
async function relay(targetPort: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Polls until `condition` holds (at most `seconds`). */
async function until(condition: () => boolean, seconds = 60): Promise<void> {
  for (let i = 0; i < seconds * 10 && !condition(); i++) await sleep(100);
  expect(condition()).toBe(true);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the widemesh CLI against a running server', () => {
  let server: TestServer;
  let repo: string;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-cli-'));
  const env = {
    ...process.env,
    WIDEMESH_CONFIG: path.join(home, 'config.json'),
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@t.invalid',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@t.invalid',
  };
  const run = (cmd: string, args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(cmd, args, { cwd: repo, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input);
    });
  const widemesh = (...args: string[]) => run(process.execPath, [BIN, ...args]);
  /** A long-running `widemesh …` (logs --tail) whose output the test watches as it comes. */
  const background = (args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repo, env: { ...env, ...extraEnv } });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (c) => (out.stdout += c));
    child.stderr.on('data', (c) => (out.stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { out, exited, interrupt: () => child.kill('SIGINT') };
  };

  beforeAll(async () => {
    server = await startServer();
    repo = appRepo('node-express-npm');
    fs.writeFileSync(
      path.join(repo, 'server.js'),
      `const express = require('express');
const app = express();
app.use((req, res, next) => { console.log('request ' + req.url); next(); });
app.get('/', (req, res) => res.send(\`\${process.env.GREETING ?? 'hello'} from node-express-npm\`));
app.listen(process.env.PORT);
`,
    );
    commitAll(repo, 'log every request');
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('logs in, creates an app with its git remote, and deploys with a plain git push', async () => {
    expect((await widemesh('login', '--url', server.apiUrl, '--token', 'wm_wrong')).code).toBe(1);
    const login = await run(process.execPath, [BIN, 'login', '--url', server.apiUrl], server.token);
    expect(login.code).toBe(0);
    expect(fs.statSync(env.WIDEMESH_CONFIG).mode & 0o777).toBe(0o600);
    const created = await widemesh('apps:create', 'clishop');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('git push widemesh main');
    expect(fs.readFileSync(path.join(repo, '.git/config'), 'utf8')).not.toContain(server.token);
    const pushed = await run('git', ['push', 'widemesh', 'main']);
    expect(pushed.stderr).toContain('is live at');
    expect(pushed.code).toBe(0);
    expect((await viaRouter(server, 'clishop.localhost')).body).toBe('hello from node-express-npm');
    const apps = JSON.parse((await widemesh('apps', '--json')).stdout);
    expect(apps.map((a: { name: string }) => a.name)).toEqual(['clishop']);
    const info = await widemesh('apps:info');
    expect(info.stdout).toMatch(/production\s+v1\s+http:\/\/clishop\.localhost/);
  });

  it('sets config, lists releases, rolls back', async () => {
    const set = await widemesh('config:set', 'GREETING=howdy');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('restarted: v2');
    expect((await viaRouter(server, 'clishop.localhost')).body).toBe('howdy from node-express-npm');
    expect(JSON.parse((await widemesh('config', '--json')).stdout)).toEqual({ GREETING: 'howdy' });
    const releases = await widemesh('releases');
    expect(releases.stdout).toMatch(/v2\s+succeeded\s+Set GREETING config vars/);
    const rollback = await widemesh('rollback');
    expect(rollback.stdout).toContain('Rolled back to v1: now v3');
    expect((await viaRouter(server, 'clishop.localhost')).body).toBe('hello from node-express-npm');
    const builds = JSON.parse((await widemesh('builds', '--json')).stdout);
    expect(builds[0].status).toBe('succeeded');
    expect((await widemesh('logs')).stdout).toContain('-----> Node.js app detected');
  });

  it('runs a command as it is: quoted arguments, stdin, exit code', async () => {
    const node = await widemesh('run', 'node', '-e', 'console.log("sum", 1 + 1)');
    expect(node).toMatchObject({ code: 0, stdout: 'sum 2\n' });
    const cat = await run(process.execPath, [BIN, 'run', 'cat'], 'hi from stdin\n');
    expect(cat).toMatchObject({ code: 0, stdout: 'hi from stdin\n' });
    const shell = await widemesh('run', '-e', 'production', 'sh -c "echo $DYNO; exit 3"');
    expect(shell).toMatchObject({ code: 3, stdout: 'run.1\n' });
    const noTty = await widemesh('run', 'sh', '-c', 'tty || true');
    expect(noTty.stdout).toBe('not a tty\n');
  });

  it('runs an interactive shell on a TTY when stdin is a terminal', async () => {
    const steps = ['=>echo wm-$((6*7)) tty-$(tty | cut -c1-8)', 'wm-42=>exit'].join('\n');
    const driven = await run('python3', [PTY_DRIVE, steps, process.execPath, BIN, 'run', 'bash']);
    const result = JSON.parse(driven.stdout);
    expect(result.output).toContain('wm-42 tty-/dev/pts');
    expect(result.code).toBe(0);
    const oneOffs = await docker.listContainers({
      all: true,
      filters: { label: ['widemesh.one-off=clishop/production'] },
    });
    expect(oneOffs).toEqual([]);
  });

  it('masks secrets in build and app lines, and never an ordinary value', async () => {
    const set = await widemesh('config:set', 'APP_ENV=prod', 'API_TOKEN=sup3r-s3cret-cli');
    expect(set.code).toBe(0);
    fs.writeFileSync(
      path.join(repo, 'Procfile'),
      'web: node server.js\nrelease: echo "release in $APP_ENV with $API_TOKEN"\n',
    );
    const source = fs.readFileSync(path.join(repo, 'server.js'), 'utf8');
    fs.writeFileSync(
      path.join(repo, 'server.js'),
      source.replace(
        "'request ' + req.url",
        "'request ' + req.url + ' in ' + process.env.APP_ENV + ' token=' + process.env.API_TOKEN",
      ),
    );
    commitAll(repo, 'say the config');
    const pushed = await run('git', ['push', 'widemesh', 'main']);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain('release in prod with [redacted]');
    const build = await widemesh('logs');
    expect(build.stdout).toContain('release in prod with [redacted]');
    expect(build.stdout).toContain('Receiving clishop (production)');

    const tail = background(['logs', '--tail']);
    const marker = `/masked-${Date.now()}`;
    for (let i = 0; i < 60 && !tail.out.stdout.includes(marker); i++) {
      await viaRouter(server, 'clishop.localhost', marker);
      await sleep(500);
    }
    tail.interrupt();
    expect(await tail.exited).toBe(0);
    expect(tail.out.stdout).toContain(`request ${marker} in prod token=[redacted]`);
    expect(`${build.stdout}${tail.out.stdout}${pushed.stderr}`).not.toContain('sup3r-s3cret-cli');
  });

  it('answers the verbs a Heroku user types', async () => {
    expect((await widemesh('config:get', 'APP_ENV')).stdout).toBe('prod\n');
    expect((await widemesh('whoami')).stdout).toBe(`admin (token) on ${server.apiUrl}\n`);
    expect((await widemesh('releases:info')).stdout).toMatch(/=== Release v\d+\nstatus: +succeeded/);
    expect((await widemesh('maintenance')).stdout).toBe('maintenance off for production\n');
    const last = await widemesh('logs', '-n', '3');
    expect(last.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect((await widemesh('--version')).stdout).toMatch(/^widemesh\/\d+\.\d+\.\d+ /);
    const refused = await widemesh('domains:add', 'nodot');
    expect(refused.stderr).toContain('give a host name with a dot');
    expect((await widemesh('open')).stdout).toBe(`http://clishop.localhost:${server.routerPort}/\n`);
  });

  it('tails app output live until Ctrl-C, which ends it cleanly', async () => {
    const tail = background(['logs', '--tail']);
    const marker = `/from-cli-${Date.now()}`;
    // a request every half second until its line shows: the tail attaches to the instances when it can
    const shown = () => tail.out.stdout.includes(marker);
    for (let i = 0; i < 120 && !shown(); i++) {
      await viaRouter(server, 'clishop.localhost', marker);
      for (let wait = 0; wait < 5 && !shown(); wait++) await sleep(100);
    }
    tail.interrupt();
    expect(await tail.exited).toBe(0);
    expect(tail.out.stderr).toBe('');
    expect(tail.out.stdout).toMatch(new RegExp(`local-[ab]\\[web\\.[0-9a-f]{6}\\]: request ${marker}`));
  });

  it('keeps tailing app output while the server is killed and started again', async () => {
    const tail = background(['logs', '--tail']);
    // a request until its line shows: the tail is attached to the instances
    const seen = async (marker: string) => {
      for (let i = 0; i < 60 && !tail.out.stdout.includes(marker); i++) {
        await viaRouter(server, 'clishop.localhost', marker);
        await sleep(500);
      }
      expect(tail.out.stdout).toContain(marker);
    };
    await seen(`/before-restart-${Date.now()}`);
    await server.kill();
    await until(() => tail.out.stderr.includes('reconnecting'));
    await server.restart();
    await seen(`/after-restart-${Date.now()}`);
    tail.interrupt();
    expect(await tail.exited).toBe(0);
  });

  it('follows a build through a dropped connection: reconnects and resumes, no line lost or repeated', async () => {
    const slow = appRepo('dockerfile-app');
    const dockerfile = path.join(slow, 'Dockerfile');
    const counting = `RUN for i in $(seq 1 12); do echo "counting $i ${Date.now()}"; sleep 0.5; done`;
    fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, 'utf8').replace('WORKDIR', `${counting}\nWORKDIR`));
    commitAll(slow, 'slow build');
    const pushing = push(slow, remoteUrl(server, 'tailer'));
    let buildId: number | undefined;
    for (let i = 0; i < 300 && buildId === undefined; i++) {
      const builds = await api(server, 'GET', '/api/apps/tailer/builds').catch(() => undefined);
      if (builds?.status === 200 && builds.json[0]) buildId = builds.json[0].id;
      else await sleep(100);
    }
    expect(buildId).toBeDefined();

    // the tail reaches the server through a relay the test cuts mid-build
    const link = await relay(server.apiPort);
    const config = path.join(home, 'relayed.json');
    fs.writeFileSync(config, JSON.stringify({ url: link.url, token: server.token }), { mode: 0o600 });
    const tail = background(['logs', '--tail', '--source', 'build', '-a', 'tailer'], { WIDEMESH_CONFIG: config });
    await until(() => tail.out.stdout.includes('counting 3'));
    link.cut();
    await until(() => tail.out.stderr.includes('reconnecting'));
    expect(await tail.exited).toBe(0); // the build ended: the server closed the stream normally
    await link.close();
    expect((await pushing).code).toBe(0);

    const stored = await api(server, 'GET', `/api/apps/tailer/builds/${buildId}/log`);
    const lines = stored.json.lines.map((l: { line: string }) => l.line);
    expect(tail.out.stdout.includes('counting 12')).toBe(true);
    expect(tail.out.stdout).toBe(`${lines.join('\n')}\n`);
    expect((await widemesh('apps:destroy', 'tailer', '--confirm', 'tailer')).code).toBe(0);
  });

  it('connects the app to a repository for push webhooks', async () => {
    const refused = await widemesh('repo:connect', '--provider', 'github', '--url', 'file:///srv/x.git');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('local paths and file:// are refused');
    const connected = await run(
      process.execPath,
      [BIN, 'repo:connect', '--provider', 'github', '--url', 'https://github.com/acme/shop.git', '--username', 'bot'],
      'read-token-123',
    );
    expect(connected.code).toBe(0);
    expect(connected.stdout).toContain(`${server.apiUrl}/webhooks/github/clishop`);
    expect(connected.stdout).toMatch(/secret: [0-9a-f]{48}/);
    const info = JSON.parse((await widemesh('repo:info', '--json')).stdout);
    expect(info).toMatchObject({ host: 'github', private: true, branches: { main: 'production' } });
    expect(JSON.stringify(info)).not.toContain('read-token-123');
    expect(JSON.parse((await widemesh('deliveries', '--json')).stdout)).toEqual([]);
  });

  it('manages providers and the racks of an environment', async () => {
    const provider = {
      type: 'aws',
      accessKeyId: 'AKIDCLI',
      secretAccessKey: 'cli-secret-never-shown',
      registry: '127.0.0.1:1/x',
      endpoint: 'http://127.0.0.1:1',
    };
    const saved = await run(process.execPath, [BIN, 'providers:set', 'aws-main'], JSON.stringify(provider));
    expect(saved.code).toBe(0);
    const list = await widemesh('providers');
    expect(list.stdout).toMatch(/aws-main\s+aws\s+0/);
    expect(list.stdout).not.toContain('cli-secret-never-shown');
    expect((await widemesh('racks')).stdout).toMatch(
      /^local-a, local-b \(parallel, server default\)\nlocal instances' disk: instance disk is .+\n$/,
    );
    expect((await widemesh('racks:set', 'aws-main:app-runner:us-east-1', 'nope')).code).toBe(2);
    const set = await widemesh('racks:set', 'aws-main:app-runner:us-east-1', 'local-a', '--parallel');
    expect(set.stdout).toContain('Racks of production: us-east-1, local-a (parallel)');
    expect((await widemesh('racks', '--json')).stdout).toContain('"custom": true');
    // back to the defaults for the tests that follow
    expect((await widemesh('racks:set', 'local-a', 'local-b')).code).toBe(0);
  });

  it('fails with clear messages and usage exit codes', async () => {
    const unknown = await widemesh('apps:info', '-a', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('there is no app named "nope"');
    expect((await widemesh('apps:destroy', 'clishop')).code).toBe(2);
    expect((await widemesh('frobnicate')).code).toBe(2);
    expect((await widemesh('apps:destroy', 'clishop', '--confirm', 'clishop')).code).toBe(0);
    // what stays is the server's own: the spare build sandbox, not the app's
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`widemesh.installation=${server.installationId}`] },
    });
    expect(left.map((c) => c.Labels['widemesh.role'])).toEqual(left.length > 0 ? ['build-sandbox'] : []);
    expect(left.filter((c) => c.Labels['widemesh.app'] !== undefined)).toEqual([]);
    expect(await docker.listImages({ filters: { reference: [`wm-${server.installationId}/clishop:*`] } })).toEqual([]);
  });
});
