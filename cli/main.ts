/**
 * `widemesh`: drives a Widemesh server the way the Heroku CLI drives Heroku.
 * Exit codes: 0 done, 1 the server or git refused (message on stderr), 2 bad usage.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

class UsageError extends Error {}
class ApiError extends Error {}

interface Settings {
  url: string;
  token: string;
}

const HELP: Record<string, string> = {
  login:
    'login --url URL [--token TOKEN]     store the server and token (token also read from WIDEMESH_TOKEN or stdin)',
  apps: 'apps [--json]                        list apps',
  'apps:create': 'apps:create NAME                     create an app and add the `widemesh` git remote here',
  'apps:info': 'apps:info [-a APP] [--json]          environments, current release, racks',
  'apps:destroy': 'apps:destroy NAME --confirm NAME     delete an app and stop its instances',
  config: 'config [-a APP] [--json]             show config vars',
  'config:set': 'config:set K=V … [-a APP]            set config vars (restarts the app)',
  'config:unset': 'config:unset K … [-a APP]            remove config vars (restarts the app)',
  releases: 'releases [-a APP] [--json]           list releases',
  rollback: 'rollback [vN] [-a APP]               roll back (default: the release before the current one)',
  builds: 'builds [-a APP] [--json]             list builds',
  logs: 'logs [-a APP] [--tail] [--source build|app|all] [--build N]   show logs',
  open: "open [-a APP]                        print the app's URL",
  'repo:connect':
    'repo:connect --provider github|bitbucket --url CLONE_URL [--branch main=production …] [--username U] [-a APP]   deploy on pushes there (a read token for private repos is read from stdin)',
  'repo:info': 'repo:info [-a APP] [--json]          the connected repository and its webhook URL',
  'repo:disconnect': 'repo:disconnect [-a APP]             stop deploying on pushes there',
  deliveries: 'deliveries [-a APP] [--json]         webhook deliveries and what became of them',
  'providers:set':
    'providers:set NAME                   store a cloud provider from JSON on stdin (type gcp|aws, credentials, registry, …)',
  providers: 'providers [--json]                   list cloud providers (never their credentials)',
  'racks:set':
    'racks:set RACK RACK … [--parallel] [-a APP]   racks of the environment: PROVIDER:cloud-run:LOCATION, PROVIDER:app-runner:REGION or local-NAME',
  racks: 'racks [-a APP] [--json]              the racks the environment rolls out to',
};

const configFile = () =>
  process.env.WIDEMESH_CONFIG ??
  path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'widemesh', 'config.json');

function loadSettings(): Settings {
  try {
    return JSON.parse(fs.readFileSync(configFile(), 'utf8')) as Settings;
  } catch {
    throw new UsageError('not logged in: run `widemesh login --url URL --token TOKEN` first');
  }
}

function saveSettings(settings: Settings): void {
  fs.mkdirSync(path.dirname(configFile()), { recursive: true, mode: 0o700 });
  fs.writeFileSync(configFile(), JSON.stringify(settings, null, 2), { mode: 0o600 });
  fs.chmodSync(configFile(), 0o600);
}

async function call(settings: Settings, method: string, route: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${settings.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${settings.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(`cannot reach ${settings.url} (${(err as Error).cause ?? (err as Error).message})`);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(json?.error?.message ?? `${res.status} ${res.statusText}`);
  return json;
}

function git(args: string[], cwd = process.cwd()): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** --app, else the app the `widemesh` git remote points at. */
function appName(option: string | undefined): string {
  const name = option ?? git(['remote', 'get-url', 'widemesh'])?.match(/\/([a-z0-9-]+)\.git$/)?.[1];
  if (!name) throw new UsageError('which app? pass -a APP, or run this in a repository with a `widemesh` git remote');
  return name;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  const parse = () =>
    parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        app: { type: 'string', short: 'a' },
        environment: { type: 'string', short: 'e' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        tail: { type: 'boolean', short: 't' },
        source: { type: 'string' },
        build: { type: 'string' },
        confirm: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        provider: { type: 'string' },
        branch: { type: 'string', multiple: true },
        username: { type: 'string' },
        parallel: { type: 'boolean' },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`widemesh: ${(err as Error).message}\n`);
    return 2;
  }
  const { values: opts, positionals } = parsed;
  if (command === 'help' || command === '--help' || command === '-h' || opts.help) {
    const only = HELP[command];
    process.stdout.write(
      only
        ? `usage: widemesh ${only}\n`
        : `usage: widemesh COMMAND [options]\n\n${Object.values(HELP)
            .map((h) => `  ${h}`)
            .join('\n')}\n`,
    );
    return 0;
  }
  try {
    await run(command, opts, positionals);
    return 0;
  } catch (err) {
    process.stderr.write(` !    ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

type Options = {
  app?: string;
  environment?: string;
  json?: boolean;
  tail?: boolean;
  source?: string;
  build?: string;
  confirm?: string;
  url?: string;
  token?: string;
  provider?: string;
  branch?: string[];
  username?: string;
  parallel?: boolean;
};

async function run(command: string, opts: Options, args: string[]): Promise<void> {
  const out = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  const env = opts.environment ? `?environment=${encodeURIComponent(opts.environment)}` : '';
  const print = (json: unknown, human: () => string) => out(opts.json ? JSON.stringify(json, null, 2) : human());

  if (!(command in HELP) && command !== 'git-credential')
    throw new UsageError(`unknown command "${command}": widemesh help lists them`);
  if (command === 'git-credential') {
    // git's credential helper protocol: we answer `get` for our server only
    if (args[0] !== 'get') return;
    const request = Object.fromEntries(
      (await readStdin())
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=', 2) as [string, string]),
    );
    const settings = loadSettings();
    const server = new URL(settings.url);
    if (request.host === server.host) out(`username=widemesh\npassword=${settings.token}`);
    return;
  }
  if (command === 'login') {
    if (!opts.url) throw new UsageError('usage: widemesh login --url URL [--token TOKEN]');
    const token = (opts.token ?? process.env.WIDEMESH_TOKEN ?? (await readStdin())).trim();
    const settings = { url: opts.url.replace(/\/+$/, ''), token };
    await call(settings, 'GET', '/api/apps');
    saveSettings(settings);
    out(`Logged in to ${settings.url} (token saved in ${configFile()})`);
    return;
  }

  const settings = loadSettings();
  const base = (app: string) => `/api/apps/${encodeURIComponent(app)}`;
  switch (command) {
    case 'apps': {
      const apps = await call(settings, 'GET', '/api/apps');
      return print(apps, () =>
        apps.length ? table(apps, ['name', 'createdAt']) : 'no apps yet: widemesh apps:create NAME',
      );
    }
    case 'apps:create': {
      const name = args[0];
      if (!name) throw new UsageError('usage: widemesh apps:create NAME');
      const app = await call(settings, 'POST', '/api/apps', { name });
      out(`Created ${app.name}: ${app.environments[0]?.url ?? ''}`);
      if (git(['rev-parse', '--git-dir']) !== undefined) {
        const url = `${settings.url}/${name}.git`;
        if (git(['remote', 'get-url', 'widemesh']) === undefined) git(['remote', 'add', 'widemesh', url]);
        else git(['remote', 'set-url', 'widemesh', url]);
        // git asks this command for the token: it is never written into .git/config
        const helper = `!'${process.execPath}' '${fileURLToPath(new URL('./bin.js', import.meta.url))}' git-credential`;
        git(['config', `credential.${settings.url}.helper`, helper]);
        out(`Git remote widemesh added: git push widemesh main`);
      }
      return;
    }
    case 'apps:info': {
      const app = await call(settings, 'GET', base(appName(opts.app)));
      return print(app, () =>
        [
          `=== ${app.name}`,
          table(
            app.environments.map((e: any) => ({
              ...e,
              release: e.release ? `v${e.release}` : '-',
              racks: e.racks.map((r: any) => `${r.rack}(v${r.release})`).join(' '),
            })),
            ['name', 'release', 'url', 'racks'],
          ),
        ].join('\n'),
      );
    }
    case 'apps:destroy': {
      const name = args[0] ?? opts.app;
      if (!name) throw new UsageError('usage: widemesh apps:destroy NAME --confirm NAME');
      if (opts.confirm !== name)
        throw new UsageError(`this deletes ${name} and stops it: confirm with --confirm ${name}`);
      await call(settings, 'DELETE', base(name));
      out(`Destroyed ${name}`);
      return;
    }
    case 'config': {
      const config = await call(settings, 'GET', `${base(appName(opts.app))}/config${env}`);
      return print(
        config.vars,
        () =>
          Object.entries(config.vars)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n') || 'no config vars',
      );
    }
    case 'config:set':
    case 'config:unset': {
      if (args.length === 0) throw new UsageError(`usage: widemesh ${HELP[command]}`);
      const changes: Record<string, string | null> = {};
      for (const arg of args) {
        if (command === 'config:unset') {
          changes[arg] = null;
          continue;
        }
        const eq = arg.indexOf('=');
        if (eq <= 0) throw new UsageError(`"${arg}" is not KEY=VALUE`);
        changes[arg.slice(0, eq)] = arg.slice(eq + 1);
      }
      const result = await call(settings, 'PATCH', `${base(appName(opts.app))}/config${env}`, changes);
      out(
        result.release
          ? `${command === 'config:set' ? 'Set' : 'Unset'} ${Object.keys(changes).join(', ')} and restarted: v${result.release.version}`
          : `Saved ${Object.keys(changes).join(', ')}; it applies from the first deploy`,
      );
      return;
    }
    case 'releases': {
      const releases = await call(settings, 'GET', `${base(appName(opts.app))}/releases${env}`);
      return print(releases, () =>
        table(
          releases.map((r: any) => ({ ...r, version: `v${r.version}` })),
          ['version', 'status', 'description', 'createdAt'],
        ),
      );
    }
    case 'rollback': {
      const app = appName(opts.app);
      let version = args[0] ? Number(args[0].replace(/^v/, '')) : undefined;
      if (version === undefined) {
        const good = (await call(settings, 'GET', `${base(app)}/releases${env}`)).filter(
          (r: any) => r.status === 'succeeded',
        );
        if (good.length < 2) throw new ApiError('there is no earlier release to roll back to');
        version = good[1].version as number;
      }
      const result = await call(settings, 'POST', `${base(app)}/rollback${env}`, { version });
      out(`Rolled back to v${version}: now v${result.release.version}`);
      return;
    }
    case 'builds': {
      const builds = await call(settings, 'GET', `${base(appName(opts.app))}/builds${env}`);
      return print(builds, () =>
        table(
          builds.map((b: any) => ({ ...b, commit: b.commit?.slice(0, 7) })),
          ['id', 'status', 'commit', 'buildpack', 'createdAt'],
        ),
      );
    }
    case 'open': {
      const app = await call(settings, 'GET', base(appName(opts.app)));
      const wanted = opts.environment ?? 'production';
      out(app.environments.find((e: any) => e.name === wanted)?.url ?? '');
      return;
    }
    case 'logs':
      return await streamLogs(settings, appName(opts.app), opts);
    case 'repo:connect': {
      if (!opts.provider || !opts.url) throw new UsageError(`usage: widemesh ${HELP[command]}`);
      const branches =
        opts.branch &&
        Object.fromEntries(
          opts.branch.map((b) => {
            const [branch, env] = b.split('=');
            if (!branch || !env) throw new UsageError(`"${b}" is not BRANCH=ENVIRONMENT`);
            return [branch, env];
          }),
        );
      const password = opts.username ? (await readStdin()).trim() : undefined;
      const repo = await call(settings, 'PUT', `${base(appName(opts.app))}/repository`, {
        host: opts.provider,
        cloneUrl: opts.url,
        ...(branches ? { branches } : {}),
        ...(opts.username ? { username: opts.username, password } : {}),
      });
      out(
        `Connected to ${repo.cloneUrl}. Add a ${repo.host} webhook (push events, JSON):\n  URL:    ${repo.webhookUrl}\n  secret: ${repo.secret}   (shown once)`,
      );
      return;
    }
    case 'repo:info': {
      const repo = await call(settings, 'GET', `${base(appName(opts.app))}/repository`);
      return print(
        repo,
        () =>
          `${repo.host} ${repo.cloneUrl}${repo.private ? ' (private)' : ''}\nwebhook: ${repo.webhookUrl}\nbranches: ${Object.entries(
            repo.branches,
          )
            .map(([b, e]) => `${b} → ${e}`)
            .join(', ')}`,
      );
    }
    case 'repo:disconnect': {
      await call(settings, 'DELETE', `${base(appName(opts.app))}/repository`);
      out('Disconnected');
      return;
    }
    case 'providers:set': {
      const name = args[0];
      if (!name) throw new UsageError(`usage: widemesh ${HELP[command]}`);
      let settings_: unknown;
      try {
        settings_ = JSON.parse(await readStdin());
      } catch {
        throw new UsageError('providers:set reads the provider settings as JSON on stdin');
      }
      const saved = await call(settings, 'PUT', `/api/providers/${encodeURIComponent(name)}`, settings_);
      out(`Saved provider ${saved.name} (${saved.type}); its credentials are stored sealed and never shown again`);
      return;
    }
    case 'providers': {
      const list = await call(settings, 'GET', '/api/providers');
      return print(list, () =>
        list.length ? table(list, ['name', 'type', 'environments']) : 'no providers: the local racks are used',
      );
    }
    case 'racks:set': {
      if (args.length === 0) throw new UsageError(`usage: widemesh ${HELP[command]}`);
      const racks = args.map((arg) => {
        if (/^local-/.test(arg)) return { kind: 'local', name: arg };
        const [provider, kind, place] = arg.split(':');
        if (!provider || !place || (kind !== 'cloud-run' && kind !== 'app-runner'))
          throw new UsageError(`"${arg}" is not PROVIDER:cloud-run:LOCATION, PROVIDER:app-runner:REGION or local-NAME`);
        return kind === 'cloud-run' ? { kind, provider, location: place } : { kind, provider, region: place };
      });
      const result = await call(settings, 'PUT', `${base(appName(opts.app))}/racks${env}`, {
        racks,
        rollout: opts.parallel ? 'parallel' : 'sequential',
      });
      out(
        `Racks of ${result.environment}: ${result.racks.map((r: { name: string }) => r.name).join(', ')} (${result.rollout}); ${result.note}`,
      );
      return;
    }
    case 'racks': {
      const result = await call(settings, 'GET', `${base(appName(opts.app))}/racks${env}`);
      return print(
        result,
        () =>
          `${result.racks.map((r: { name: string }) => r.name).join(', ')} (${result.rollout}${result.custom ? '' : ', server default'})`,
      );
    }
    case 'deliveries': {
      const list = await call(settings, 'GET', `${base(appName(opts.app))}/deliveries`);
      return print(list, () =>
        table(
          list.map((d: any) => ({ ...d, commit: d.commit?.slice(0, 7) })),
          ['receivedAt', 'id', 'event', 'ref', 'commit', 'outcome'],
        ),
      );
    }
    default:
      throw new UsageError(`"${command}" is not available yet`);
  }
}

function streamLogs(settings: Settings, app: string, opts: Options): Promise<void> {
  const query = new URLSearchParams({
    source: opts.source ?? (opts.tail ? 'app' : 'build'),
    tail: opts.tail ? '1' : '0',
  });
  if (opts.environment) query.set('environment', opts.environment);
  if (opts.build) query.set('build', opts.build);
  const url = `${settings.url.replace(/^http/, 'ws')}/api/apps/${encodeURIComponent(app)}/logs?${query}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${settings.token}` } });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'line' && m.source === 'build') process.stdout.write(`${m.line}\n`);
      else if (m.type === 'line')
        process.stdout.write(`${m.at} ${m.rack}[${m.service}.${m.instance.slice(0, 6)}]: ${m.line}\n`);
      else if (m.type === 'dropped') process.stdout.write(`(dropped ${m.count} lines: the connection was too slow)\n`);
      else if (m.type === 'end' && !m.ok && m.build === null) process.stdout.write('(no builds yet)\n');
    });
    ws.on('unexpected-response', (_req, res) =>
      reject(new ApiError(`the server refused the log stream (${res.statusCode})`)),
    );
    ws.on('error', (err) => reject(new ApiError(`log stream failed: ${err.message}`)));
    ws.on('close', () => resolve());
    const stop = () => ws.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
