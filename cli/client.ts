/** The saved login and a typed client for the Widemesh API. */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type * as T from '../contract/api.ts';
import { ApiError, errorMessage, UsageError } from './errors.ts';

export interface Settings {
  url: string;
  token: string;
}

/** Where the login is kept: WIDEMESH_CONFIG, else ~/.config/widemesh/config.json (or under XDG_CONFIG_HOME). */
export function configFile(env: NodeJS.ProcessEnv): string {
  const configHome = env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
  return env.WIDEMESH_CONFIG ?? path.join(configHome, 'widemesh', 'config.json');
}

export interface SettingsStore {
  readonly file: string;
  load(): Settings;
  save(settings: Settings): void;
  /** Forgets the login; false when there was none. */
  clear(): boolean;
}

export function settingsStore(file: string): SettingsStore {
  return {
    file,
    load() {
      let saved: Partial<Settings>;
      try {
        saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        throw new UsageError('not logged in: run `widemesh login --url URL --token TOKEN` first');
      }
      if (typeof saved.url !== 'string' || typeof saved.token !== 'string')
        throw new UsageError(`${file} has no url and token: run \`widemesh login\` again`);
      return { url: saved.url, token: saved.token };
    },
    save(settings) {
      // the token is a password: the file is readable by its owner only
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, JSON.stringify(settings, null, 2), { mode: 0o600 });
      fs.chmodSync(file, 0o600);
    },
    clear() {
      const existed = fs.existsSync(file);
      fs.rmSync(file, { force: true });
      return existed;
    },
  };
}

/** Sends one request and answers the parsed JSON body, or throws ApiError. */
type Transport = (method: string, route: string, body?: unknown) => Promise<unknown>;

/** The socket of a `unix:PATH` login (the server's DATA/api.sock, on the same machine), else undefined. */
export function unixSocketOf(url: string): string | undefined {
  return url.startsWith('unix:') ? url.slice('unix:'.length) : undefined;
}

/** The part of fetch the transport uses, over a unix socket (Node's fetch cannot reach one). */
function unixFetch(socketPath: string): typeof fetch {
  const send = (url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const { pathname, search } = new URL(url);
      const headers = init.headers as Record<string, string>;
      const req = http.request({ socketPath, path: pathname + search, method: init.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 502;
          const body = chunks.length > 0 && status !== 204 && status !== 304 ? Buffer.concat(chunks) : null;
          resolve(new Response(body, { status, statusText: res.statusMessage }));
        });
      });
      req.on('error', (err) => reject(Object.assign(new Error('fetch failed'), { cause: err })));
      req.end(init.body as string | undefined);
    });
  return send as typeof fetch;
}

export function httpTransport(settings: Settings, fetchImpl?: typeof fetch): Transport {
  const socket = unixSocketOf(settings.url);
  const base = socket ? 'http://localhost' : settings.url;
  const send = fetchImpl ?? (socket ? unixFetch(socket) : fetch);
  return async (method, route, body) => {
    let res: Response;
    try {
      res = await send(`${base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${settings.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const { cause } = err as Error; // fetch's own message is just "fetch failed"
      const why = cause instanceof Error ? cause.message : errorMessage(err);
      throw new ApiError(`cannot reach ${settings.url} (${why})`, 'UNREACHABLE');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(`${settings.url} answered ${res.status} with something that is not JSON`, 'NOT_JSON');
    }
    if (res.ok) return json;
    const error = (json as T.ApiErrorBody | undefined)?.error;
    throw new ApiError(error?.message ?? `${res.status} ${res.statusText}`, error?.code ?? 'HTTP_ERROR', res.status);
  };
}

/** Which app, and which of its environments (the server's default, production, when not given). */
export interface Target {
  app: string;
  environment?: string;
}

const appPath = (app: string) => `/api/apps/${encodeURIComponent(app)}`;
const envRoute = ({ app, environment }: Target, suffix: string) =>
  `${appPath(app)}${suffix}${environment ? `?environment=${encodeURIComponent(environment)}` : ''}`;

/** One method per API route, each typed with what the route answers. */
export class Api {
  constructor(private readonly send: Transport) {}

  private call<R>(method: string, route: string, body?: unknown): Promise<R> {
    return this.send(method, route, body) as Promise<R>;
  }

  whoami = () => this.call<T.WhoAmI>('GET', '/api/whoami');
  listApps = () => this.call<T.AppSummary[]>('GET', '/api/apps');
  createApp = (name: string) => this.call<T.AppInfo>('POST', '/api/apps', { name });
  getApp = (app: string) => this.call<T.AppInfo>('GET', appPath(app));
  deleteApp = (app: string) => this.call<T.AppDeleted>('DELETE', appPath(app));

  getConfig = (t: Target) => this.call<T.ConfigVars>('GET', envRoute(t, '/config'));
  changeConfig = (t: Target, changes: Record<string, string | null>) =>
    this.call<T.ConfigChanged>('PATCH', envRoute(t, '/config'), changes);

  listReleases = (t: Target) => this.call<T.Release[]>('GET', envRoute(t, '/releases'));
  rollback = (t: Target, version: number) => this.call<T.RolledBack>('POST', envRoute(t, '/rollback'), { version });
  releaseOutput = (t: Target, version: number) =>
    this.call<T.ReleaseOutput>('GET', envRoute(t, `/releases/${version}/output`));
  listBuilds = (t: Target) => this.call<T.Build[]>('GET', envRoute(t, '/builds'));

  connectRepository = (app: string, request: T.RepositoryRequest) =>
    this.call<T.RepositoryConnected>('PUT', `${appPath(app)}/repository`, request);
  getRepository = (app: string) => this.call<T.Repository>('GET', `${appPath(app)}/repository`);
  disconnectRepository = (app: string) => this.call<T.RepositoryDisconnected>('DELETE', `${appPath(app)}/repository`);
  listDeliveries = (app: string) => this.call<T.Delivery[]>('GET', `${appPath(app)}/deliveries`);

  listProviders = () => this.call<T.Provider[]>('GET', '/api/providers');
  saveProvider = (name: string, settings: unknown) =>
    this.call<T.ProviderSaved>('PUT', `/api/providers/${encodeURIComponent(name)}`, settings);
  listEnvironments = (app: string) => this.call<T.EnvironmentView[]>('GET', `${appPath(app)}/environments`);
  createEnvironment = (app: string, name: string, branch?: string | null) =>
    this.call<T.EnvironmentView>('POST', `${appPath(app)}/environments`, {
      name,
      ...(branch === undefined ? {} : { branch }),
    });
  deleteEnvironment = (app: string, name: string) =>
    this.call<{ deleted: string }>('DELETE', `${appPath(app)}/environments/${encodeURIComponent(name)}`);
  setPreviews = (app: string, previews: boolean) => this.call<T.AppSettings>('PATCH', appPath(app), { previews });
  promote = (app: string, from: string, to: string) =>
    this.call<T.Promoted>('POST', `${appPath(app)}/promote`, { from, to });

  listDomains = (t: Target) => this.call<T.DomainView[]>('GET', envRoute(t, '/domains'));
  addDomain = (t: Target, name: string) => this.call<T.DomainView>('POST', envRoute(t, '/domains'), { name });
  removeDomain = (t: Target, name: string) =>
    this.call<{ deleted: string }>('DELETE', envRoute(t, `/domains/${encodeURIComponent(name)}`));
  setCertificate = (t: Target, name: string, certificate: string, key: string) =>
    this.call<T.DomainView>('PUT', envRoute(t, `/domains/${encodeURIComponent(name)}/cert`), { certificate, key });
  issueCertificate = (t: Target, name: string) =>
    this.call<T.DomainView>('POST', envRoute(t, `/domains/${encodeURIComponent(name)}/acme`));
  toggleState = (t: Target, setting: 'maintenance' | 'https-redirect') =>
    this.call<{ enabled: boolean }>('GET', envRoute(t, `/${setting}`));
  toggle = (t: Target, setting: 'maintenance' | 'https-redirect', enabled: boolean) =>
    this.call<T.Toggled>('POST', envRoute(t, `/${setting}`), { enabled });

  listProcesses = (t: Target) => this.call<T.ProcessList>('GET', envRoute(t, '/ps'));
  scale = (t: Target, changes: Record<string, number>) =>
    this.call<T.Scaled>('POST', envRoute(t, '/ps/scale'), changes);
  stopOrStart = (t: Target, action: 'stop' | 'start') =>
    this.call<T.StoppedOrStarted>('POST', envRoute(t, `/ps/${action}`));
  restart = (t: Target, service?: string) => this.call<T.Restarted>('POST', envRoute(t, '/ps/restart'), { service });

  getRacks = (t: Target) => this.call<T.Racks>('GET', envRoute(t, '/racks'));
  setRacks = (t: Target, racks: T.RackSpec[], rollout: T.Rollout) =>
    this.call<T.RacksSet>('PUT', envRoute(t, '/racks'), { racks, rollout });
}
