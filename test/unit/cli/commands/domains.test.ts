import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeCli } from '../fake-context.ts';

const domain = (state: 'none' | 'active') => ({
  name: 'www.example.com',
  certificate: state === 'none' ? { state } : { state, source: 'user', notAfter: '2027-01-02T00:00:00.000Z' },
  createdAt: '2026-11-25T00:00:00Z',
});

describe('domain, certificate and maintenance commands', () => {
  it('domains:add attaches the name to the environment', async () => {
    const route = '/api/apps/shop/domains?environment=staging';
    const cli = fakeCli({ [`POST ${route}`]: domain('none') });
    expect(await cli.run('domains:add', 'www.example.com', '-a', 'shop', '-e', 'staging')).toBe(0);
    expect(cli.requests).toEqual([{ method: 'POST', route, body: { name: 'www.example.com' } }]);
    expect(cli.stdout()).toContain('Added www.example.com: no certificate');
  });

  it('certs:add sends the PEM files, and a missing file is a usage error that sends nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-cli-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), 'CERT');
    fs.writeFileSync(path.join(dir, 'k.pem'), 'KEY');
    const route = '/api/apps/shop/domains/www.example.com/cert';
    const cli = fakeCli({ [`PUT ${route}`]: domain('active') });
    expect(
      await cli.run('certs:add', 'www.example.com', path.join(dir, 'nope.pem'), path.join(dir, 'k.pem'), '-a', 'shop'),
    ).toBe(2);
    expect(cli.requests).toEqual([]);
    expect(
      await cli.run('certs:add', 'www.example.com', path.join(dir, 'c.pem'), path.join(dir, 'k.pem'), '-a', 'shop'),
    ).toBe(0);
    expect(cli.requests).toEqual([{ method: 'PUT', route, body: { certificate: 'CERT', key: 'KEY' } }]);
    expect(cli.stdout()).toContain('www.example.com: active (user, until 2027-01-02)');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['maintenance:on', '/api/apps/shop/maintenance', true],
    ['maintenance:off', '/api/apps/shop/maintenance', false],
    ['https:redirect', '/api/apps/shop/https-redirect', true],
  ])('%s', async (command, route, enabled) => {
    const cli = fakeCli({ [`POST ${route}`]: { environment: 'production', enabled } });
    expect(await cli.run(command, '-a', 'shop')).toBe(0);
    expect(cli.requests).toEqual([{ method: 'POST', route, body: { enabled } }]);
  });
});
