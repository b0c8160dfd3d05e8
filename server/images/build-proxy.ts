import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** A destination builds may reach: a package registry or mirror the operator allows. */
export interface AllowedHost {
  host: string;
  /** undefined: the web's ports, 80 and 443 */
  port?: number;
}

/** `host` or `host:port` entries (WIDEMESH_BUILD_ALLOWED_HOSTS, registry URLs' hosts). */
export function parseAllowedHost(entry: string): AllowedHost {
  const match = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(entry.trim());
  if (!match) throw new Error(`"${entry}" is not a host name or host:port`);
  return { host: match[1]!.toLowerCase(), port: match[2] === undefined ? undefined : Number(match[2]) };
}

export function isAllowed(allowed: AllowedHost[], host: string, port: number): boolean {
  const name = host.toLowerCase();
  return allowed.some((a) => a.host === name && (a.port === undefined ? port === 80 || port === 443 : a.port === port));
}

/** This machine's own addresses (loopback, unspecified, its interfaces): where the platform listens. */
export function isOwnAddress(address: string, interfaces = os.networkInterfaces()): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  if (net.isIPv4(plain) && (plain.startsWith('127.') || plain.startsWith('0.'))) return true;
  if (plain === '::1' || plain === '::') return true;
  return Object.values(interfaces).some((list) => list?.some((i) => i.address === plain));
}

class Refused extends Error {}

/** The one address a request may go to: an allowed name that resolves to no address of this machine. */
async function destination(allowed: AllowedHost[], host: string, port: number): Promise<string> {
  if (!isAllowed(allowed, host, port))
    throw new Refused(`${host}:${port} is not an allowed package registry (WIDEMESH_BUILD_ALLOWED_HOSTS)`);
  const addresses = await dns.lookup(host, { all: true });
  if (addresses.length === 0 || addresses.some((a) => isOwnAddress(a.address)))
    throw new Refused(`${host} resolves to this machine: builds may not reach it`);
  return addresses[0]!.address;
}

/**
 * The only way out of a build's network namespace: a forward proxy (HTTP CONNECT for HTTPS,
 * absolute-URI requests for plain HTTP such as apt's) that lets through the allowed registries
 * and nothing on this machine. It listens on a unix socket that each build sandbox relays to.
 */
export class BuildProxy {
  private readonly server: http.Server;

  constructor(
    /** May still be coming (asked of npm): requests wait for it rather than the server's start. */
    private readonly allowed: AllowedHost[] | Promise<AllowedHost[]>,
    private readonly logger: Logger,
  ) {
    this.server = http.createServer((req, res) => void this.forward(req, res));
    this.server.on(
      'connect',
      (req: http.IncomingMessage, client: Duplex, head: Buffer) => void this.tunnel(req, client, head),
    );
  }

  async listen(socketPath: string): Promise<void> {
    fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private async tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
    try {
      if (!target) throw new Refused(`CONNECT needs host:port, got "${req.url}"`);
      const port = Number(target[2]);
      const address = await destination(await this.allowed, target[1]!, port);
      const upstream = net.connect(port, address, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', (err) => this.refuse(client, 502, err.message));
      client.on('close', () => upstream.destroy());
    } catch (err) {
      this.refuse(client, err instanceof Refused ? 403 : 502, (err as Error).message);
    }
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Refused('only http:// URLs are forwarded; HTTPS goes through CONNECT');
      const port = Number(url.port || 80);
      const address = await destination(await this.allowed, url.hostname, port);
      const { 'proxy-connection': _, 'proxy-authorization': __, ...headers } = req.headers;
      const upstream = http.request({
        host: address,
        port,
        path: url.pathname + url.search,
        method: req.method,
        headers,
      });
      upstream.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (err) => this.answer(res, 502, err.message));
      req.pipe(upstream);
    } catch (err) {
      this.answer(res, err instanceof Refused ? 403 : 502, (err as Error).message);
    }
  }

  private refuse(client: Duplex, status: number, why: string): void {
    this.logger.info({ why }, 'build proxy refused a connection');
    if (client.writable) client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n\r\n${why}\n`);
  }

  private answer(res: http.ServerResponse, status: number, why: string): void {
    this.logger.info({ why }, 'build proxy refused a request');
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`${why}\n`);
  }
}
