import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildProxy, isAllowed, isOwnAddress, parseAllowedHost } from '../../../../server/images/build-proxy.ts';

describe('the build proxy allow-list', () => {
  it('reads host and host:port entries', () => {
    expect(parseAllowedHost('Registry.npmjs.org')).toEqual({ host: 'registry.npmjs.org', port: undefined });
    expect(parseAllowedHost('verdaccio.internal:4873')).toEqual({ host: 'verdaccio.internal', port: 4873 });
    expect(() => parseAllowedHost('http://x/')).toThrow(/not a host name/);
  });

  it('lets a bare host through on the web ports only, and host:port on that port only', () => {
    const allowed = [parseAllowedHost('registry.npmjs.org'), parseAllowedHost('mirror.example:8080')];
    expect(isAllowed(allowed, 'REGISTRY.npmjs.org', 443)).toBe(true);
    expect(isAllowed(allowed, 'registry.npmjs.org', 80)).toBe(true);
    expect(isAllowed(allowed, 'registry.npmjs.org', 7070)).toBe(false);
    expect(isAllowed(allowed, 'mirror.example', 8080)).toBe(true);
    expect(isAllowed(allowed, 'mirror.example', 443)).toBe(false);
    expect(isAllowed(allowed, 'evil.example', 443)).toBe(false);
  });

  it("counts loopback, unspecified and the machine's interface addresses as its own", () => {
    const interfaces = { eth0: [{ address: '203.0.113.5' } as os.NetworkInterfaceInfo] };
    for (const address of ['127.0.0.1', '127.8.9.1', '::1', '::', '0.0.0.0', '::ffff:127.0.0.1', '203.0.113.5'])
      expect(isOwnAddress(address, interfaces), address).toBe(true);
    expect(isOwnAddress('104.16.0.35', interfaces)).toBe(false);
  });
});

describe('the build proxy', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-proxy-'));
  const socket = path.join(dir, 'proxy.sock');
  // localhost is "allowed" here: the proxy must still refuse it, since it is this machine
  const proxy = new BuildProxy([parseAllowedHost('localhost:7070')], pino({ level: 'silent' }));

  beforeAll(() => proxy.listen(socket));
  afterAll(() => {
    proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ask = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const conn = net.connect(socket, () => conn.write(text));
      let answer = '';
      conn.on('data', (c) => (answer += c));
      conn.on('end', () => resolve(answer));
      conn.on('error', reject);
    });

  it('is for its owner only', () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('refuses a tunnel to a host that is not allowed, or to this machine', async () => {
    expect(await ask('CONNECT 127.0.0.1:7070 HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(
      /^HTTP\/1.1 403 .*not an allowed package registry/s,
    );
    expect(await ask('CONNECT localhost:7070 HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(
      /^HTTP\/1.1 403 .*resolves to this machine/s,
    );
  });

  it('refuses plain requests the same way, and https:// URLs outside a tunnel', async () => {
    expect(
      await ask('GET http://localhost:7070/api/apps HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    ).toMatch(/^HTTP\/1.1 403 .*resolves to this machine/s);
    expect(await ask('GET https://localhost:7070/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1.1 403 .*through CONNECT/s,
    );
  });
});
