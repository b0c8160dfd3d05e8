/**
 * The edge: nginx serves every app request (the data plane); the server only renders its
 * configuration from the store and reloads it gracefully when routing changes (the control
 * plane). nginx is a detached process with its pidfile in the data dir, adopted when already
 * running, so apps keep serving while the server restarts or crashes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pino from 'pino';
import type { EdgeApiDeps } from '../api/edge.ts';
import type { Config } from '../config.ts';
import { platformNames } from '../endpoints.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { SecretBox } from '../secrets.ts';
import type { EdgeStore } from '../store/edge.ts';
import type { Environment, Store } from '../store/index.ts';
import { AcmeIssuer } from './acme.ts';
import {
  awaitGeneration,
  awaitRetired,
  checkConfig,
  type NginxFiles,
  runningMaster,
  startMaster,
  workersOf,
} from './nginx.ts';
import { type EdgeLayout, type EdgeSite, type Listen, renderEdgeConfig } from './render.ts';

interface EdgeOptions {
  store: Store;
  edgeStore: EdgeStore;
  secrets: SecretBox;
  dataDir: string;
  domain: string;
  http: Listen;
  https: Listen;
  drainMs: number;
  /** the router's JSON access log, tailed by the `router` log source */
  accessLog: string;
  platformCert?: { certFile: string; keyFile: string };
  acme?: AcmeIssuer;
  logger: pino.Logger;
}

/** The edge as main.ts wires it: from the config, with its own store tables and ACME when configured. */
export function createEdge(
  config: Config,
  deps: { store: Store; secrets: SecretBox; logger: pino.Logger; accessLog: string },
): Edge {
  const edgeStore = deps.store.edge;
  const acmeFiles = {
    challengeRoot: path.join(config.dataDir, 'edge', 'acme'),
    accountKeyFile: path.join(config.dataDir, 'acme-account.key'),
  };
  return new Edge({
    ...deps,
    edgeStore,
    dataDir: config.dataDir,
    domain: config.domain,
    http: config.edgeHttp,
    https: config.edgeHttps,
    platformCert: config.platformCert,
    drainMs: config.drainMs,
    acme: config.acme && new AcmeIssuer({ ...config.acme, ...acmeFiles }, { edgeStore, ...deps }),
  });
}

const ACCESS_LOG_MAX = 10 * 1024 * 1024;

export class Edge {
  readonly files: NginxFiles;
  private readonly dir: string;
  /** the routing last written (rendered with generation 0) and its generation */
  private rendered = '';
  private generation = 0;
  private signalled = 0;
  private lastReload: Promise<void> = Promise.resolve();
  private rotateTimer: NodeJS.Timeout | undefined;
  private stopRenewals: (() => void) | undefined;

  constructor(private readonly opts: EdgeOptions) {
    this.dir = path.join(opts.dataDir, 'edge');
    this.files = {
      prefix: this.dir,
      config: path.join(this.dir, 'nginx.conf'),
      pidFile: path.join(this.dir, 'nginx.pid'),
      errorLog: path.join(this.dir, 'error.log'),
      controlSocket: path.join(this.dir, 'control.sock'),
    };
  }

  /**
   * Adopts the running nginx (and brings its routing up to date) or starts one, and renews ACME
   * certificates from then on. main.ts calls `routingChanged` on every routing change in the store.
   */
  async start(): Promise<{ adopted: boolean; pid: number }> {
    const started = await this.startNginx();
    this.stopRenewals = this.opts.acme?.startRenewals();
    return started;
  }

  /** Re-renders nginx from the store; failures are logged by sync, and the previous routing keeps serving. */
  routingChanged(): void {
    void this.sync().catch(() => {});
  }

  /** What the API's edge routes need: the store tables, a way to wait for a change to be live, ACME. */
  apiDeps(): EdgeApiDeps {
    const { store, edgeStore, secrets, domain, acme } = this.opts;
    return { store, edgeStore, secrets, domain, acme, synced: () => this.sync() };
  }

  private async startNginx(): Promise<{ adopted: boolean; pid: number }> {
    for (const sub of ['tmp', 'relay', 'certs']) fs.mkdirSync(path.join(this.dir, sub), { recursive: true });
    const running = runningMaster(this.files);
    const generation = this.writeConfig();
    await checkConfig(this.files, this.files.config);
    const previous = running ? workersOf(running) : [];
    if (running) {
      process.kill(running, 'SIGHUP');
    } else {
      // sockets left by an nginx that was killed would make the new one's bind fail
      fs.rmSync(this.files.controlSocket, { force: true });
      for (const f of fs.readdirSync(path.join(this.dir, 'relay'))) fs.rmSync(path.join(this.dir, 'relay', f));
      await startMaster(this.files);
    }
    this.signalled = generation;
    await awaitGeneration(this.files, generation);
    await awaitRetired(previous);
    this.watchAccessLog();
    return { adopted: running !== undefined, pid: runningMaster(this.files)! };
  }

  /**
   * After a routing change: renders, writes and signals nginx right away (synchronously, so the
   * reload follows the store write before anything else runs), and resolves once new workers
   * serve it. An unchanged routing reloads nothing. nginx checks the new file itself and keeps
   * the previous one serving if it is bad; that shows here as a reload that never lands.
   */
  sync(): Promise<void> {
    try {
      const generation = this.writeConfig();
      if (generation === this.signalled) return this.lastReload;
      const pid = runningMaster(this.files);
      if (!pid) throw new Error('the edge (nginx) is not running; restart the server to start it');
      const previous = workersOf(pid);
      process.kill(pid, 'SIGHUP');
      this.signalled = generation;
      this.lastReload = this.confirm(generation, previous);
      return this.lastReload;
    } catch (err) {
      return Promise.reject(this.failed(err));
    }
  }

  /** Live once new workers answer the new generation and the previous workers accept no more. */
  private async confirm(generation: number, previous: number[]): Promise<void> {
    try {
      await awaitGeneration(this.files, generation);
      await awaitRetired(previous);
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): WidemeshError {
    this.opts.logger.error({ err: errorMessage(err) }, 'edge routing update failed; the previous routing serves');
    return err instanceof WidemeshError ? err : new WidemeshError('EDGE_RELOAD_FAILED', errorMessage(err), 503);
  }

  /** The server is stopping: nginx keeps serving (a restarted server adopts it); only timers end here. */
  detach(): void {
    clearInterval(this.rotateTimer);
    this.stopRenewals?.();
  }

  /** Renders from the store and swaps the file in; a new generation only when the routing changed. */
  private writeConfig(): number {
    const sites = this.sites();
    const routing = renderEdgeConfig(sites, this.layout(0));
    if (routing === this.rendered) return this.generation;
    this.rendered = routing;
    this.generation = Math.max(this.generation + 1, Date.now());
    const next = `${this.files.config}.next`;
    fs.writeFileSync(next, renderEdgeConfig(sites, this.layout(this.generation)));
    fs.renameSync(next, this.files.config);
    this.pruneCertificates(sites);
    return this.generation;
  }

  /** Keys of domains that were removed (or lost their certificate) do not stay on disk. */
  private pruneCertificates(sites: EdgeSite[]): void {
    const dir = path.join(this.dir, 'certs');
    const used = new Set(
      sites.flatMap((s) => s.domains.flatMap((d) => (d.cert ? [d.cert.certFile, d.cert.keyFile] : []))),
    );
    for (const file of fs.readdirSync(dir)) if (!used.has(path.join(dir, file))) fs.rmSync(path.join(dir, file));
  }

  private layout(generation: number): EdgeLayout {
    return {
      http: this.opts.http,
      https: this.opts.https,
      dir: this.dir,
      pidFile: this.files.pidFile,
      errorLog: this.files.errorLog,
      accessLog: this.opts.accessLog,
      controlSocket: this.files.controlSocket,
      // the data dir is private to the server's user: workers need its temp and relay dirs
      workerUser: process.getuid?.() === 0 ? os.userInfo().username : undefined,
      platformCert: this.opts.platformCert,
      resolvers: systemResolvers(),
      shutdownTimeoutSeconds: Math.max(1, Math.ceil(this.opts.drainMs / 1000)),
      generation: String(generation),
    };
  }

  /**
   * Every environment with its web instances in rack order. A host name two environments could
   * claim goes where endpointCandidates reads it first: production, then the longer app name.
   */
  sites(): EdgeSite[] {
    const { store, edgeStore, domain } = this.opts;
    const rank = (e: Environment) => (e.name === 'production' ? 1000 : 0) + e.appName.length;
    const envs = store.apps.environments().sort((a, b) => rank(b) - rank(a));
    const claimed = new Set<string>();
    const claim = (names: string[]) => names.filter((n) => !claimed.has(n) && claimed.add(n));
    return envs.map((env) => {
      const placements = store.placements.of(env.id);
      const settings = edgeStore.settings(env.id);
      return {
        id: `e${env.id}`,
        app: env.appName,
        environment: env.name,
        hostNames: claim(platformNames(env, domain)),
        servers: placements.flatMap((p, rackIndex) =>
          p.instances
            .filter((i) => i.service === 'web')
            .map((i) => ({ host: i.host, port: i.port, tls: i.tls, socket: i.socket, backup: rackIndex > 0 })),
        ),
        maintenance: settings.maintenance,
        httpsRedirect: settings.httpsRedirect,
        domains: edgeStore.domains(env.id).map((d) => ({ name: d.name, cert: this.certFiles(d.name) })),
      };
    });
  }

  /** A domain's certificate and key as files nginx reads (0600), written from the store when they changed. */
  private certFiles(name: string): { certFile: string; keyFile: string } | undefined {
    const found = this.opts.edgeStore.domain(name);
    if (!found?.certPem || !found.sealedKey) return undefined;
    const certFile = path.join(this.dir, 'certs', `${name}.crt`);
    const keyFile = path.join(this.dir, 'certs', `${name}.key`);
    writeIfChanged(certFile, found.certPem);
    writeIfChanged(keyFile, this.opts.secrets.unseal(found.sealedKey));
    return { certFile, keyFile };
  }

  /** nginx appends; past 10 MB the file is moved aside and nginx reopens its logs (SIGUSR1). */
  private watchAccessLog(): void {
    this.rotateTimer = setInterval(() => {
      const file = this.opts.accessLog;
      if (!fs.existsSync(file) || fs.statSync(file).size < ACCESS_LOG_MAX) return;
      fs.renameSync(file, `${file}.1`);
      const pid = runningMaster(this.files);
      if (pid) process.kill(pid, 'SIGUSR1');
    }, 30_000);
    this.rotateTimer.unref();
  }
}

/** The host's DNS servers, for the names of cloud instances. */
function systemResolvers(): string[] {
  const text = fs.existsSync('/etc/resolv.conf') ? fs.readFileSync('/etc/resolv.conf', 'utf8') : '';
  const found = [...text.matchAll(/^nameserver\s+([0-9a-f.:]+)\s*$/gim)].map((m) => m[1]!);
  return found.length > 0 ? found.map((ip) => (ip.includes(':') ? `[${ip}]` : ip)) : ['127.0.0.1'];
}

function writeIfChanged(file: string, text: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
