import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EdgeLayout, type EdgeSite, renderEdgeConfig } from '../../../../server/edge/render.ts';
import { platformNames } from '../../../../server/endpoints.ts';
import { selfSignedCert } from '../../../helpers/certs.ts';

const NGINX = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-edge-render-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// a throwaway certificate, so configs with TLS pass `nginx -t`
const { certFile, keyFile } = selfSignedCert(dir, 'shop.example.com');

const layout: EdgeLayout = {
  http: { host: '127.0.0.1', port: 7080 },
  https: { host: '127.0.0.1', port: 7443 },
  dir,
  pidFile: `${dir}/nginx.pid`,
  errorLog: `${dir}/error.log`,
  accessLog: `${dir}/access.jsonl`,
  controlSocket: `${dir}/control.sock`,
  shutdownTimeoutSeconds: 2,
  resolvers: ['127.0.0.1'],
  generation: 'g1',
};

const site = (change: Partial<EdgeSite> = {}): EdgeSite => ({
  id: 'e1',
  app: 'shop',
  environment: 'production',
  hostNames: ['shop.example.test', 'shop-production.example.test'],
  servers: [
    { host: '127.0.0.1', port: 5001, backup: false },
    { host: '127.0.0.1', port: 5002, backup: false },
    { host: '127.0.0.1', port: 6001, backup: true },
  ],
  maintenance: false,
  httpsRedirect: false,
  domains: [],
  ...change,
});

const cases: { name: string; sites: EdgeSite[]; layout?: Partial<EdgeLayout>; has: string[]; lacks?: string[] }[] = [
  {
    name: 'no app: a 404 default server and the control socket, no HTTPS listener',
    sites: [],
    has: ['listen 127.0.0.1:7080 default_server;', `listen unix:${dir}/control.sock;`, 'return 200 "g1";'],
    lacks: ['ssl', 'upstream wm_'],
  },
  {
    name: 'first rack primary (round robin over its instances), the next rack as backup',
    sites: [site()],
    has: [
      'upstream wm_e1 {',
      'server 127.0.0.1:5001 max_fails=1 fail_timeout=5s;',
      'server 127.0.0.1:5002 max_fails=1 fail_timeout=5s;',
      'server 127.0.0.1:6001 max_fails=1 fail_timeout=5s backup;',
      'keepalive 32;',
      'server_name shop.example.test shop-production.example.test;',
      'proxy_pass http://wm_e1;',
      'error_page 502 504 = @wm_retry1;',
      'proxy_next_upstream http_502;',
      'recursive_error_pages on;',
      'location @wm_retry3 {',
      'if ($upstream_connect_time !~ "-$") { error_page 502 504 @wm_down; return 502; }',
      'error_page 502 504 @wm_down;',
      'map $server_name $wm_app {',
      'shop.example.test shop;',
    ],
  },
  {
    name: 'an environment with no instance: a 503 page, no upstream',
    sites: [site({ servers: [] })],
    has: ['return 503 "<!doctype html><title>Not running'],
    lacks: ['upstream wm_e1'],
  },
  {
    name: 'maintenance: 503 with Retry-After, the instances stay in the upstream',
    sites: [site({ maintenance: true })],
    has: ['add_header Retry-After 120 always;', 'Down for maintenance', 'upstream wm_e1 {'],
    lacks: ['proxy_pass http://wm_e1;'],
  },
  {
    name: 'a custom domain with a certificate: HTTP and HTTPS, the HTTPS default rejects unknown names',
    sites: [site({ domains: [{ name: 'shop.example.com', cert: { certFile, keyFile } }] })],
    has: [
      'server_name shop.example.com;',
      'listen 127.0.0.1:7443 ssl;',
      `ssl_certificate ${certFile};`,
      'ssl_reject_handshake on;',
    ],
    lacks: ['return 308'],
  },
  {
    name: 'the HTTPS redirect applies to names that have a certificate',
    sites: [
      site({
        httpsRedirect: true,
        domains: [{ name: 'shop.example.com', cert: { certFile, keyFile } }, { name: 'plain.example.com' }],
      }),
    ],
    has: [
      'return 308 https://$host:7443$request_uri;',
      'server_name plain.example.com;',
      `location ^~ /.well-known/acme-challenge/ { root ${dir}/acme; default_type text/plain; }`,
    ],
  },
  {
    name: "the operator's wildcard certificate serves the platform names over HTTPS",
    sites: [site({ httpsRedirect: true })],
    layout: { platformCert: { certFile, keyFile }, https: { host: '127.0.0.1', port: 443 } },
    has: ['listen 127.0.0.1:443 ssl;', 'return 308 https://$host$request_uri;'],
  },
  {
    name: 'cloud instances over HTTPS go through a relay that sets their Host and SNI',
    sites: [site({ servers: [{ host: 'shop-x.a.run.app', port: 443, tls: true, backup: false }] })],
    has: [
      `server unix:${dir}/relay/e1-shop-x.a.run.app-443.sock max_fails=1 fail_timeout=5s;`,
      'set $wm_target shop-x.a.run.app;',
      'proxy_pass https://$wm_target:443;',
      'proxy_set_header Host shop-x.a.run.app;',
      'proxy_ssl_server_name on;',
    ],
  },
  {
    name: "an isolated instance is reached through its relay's unix socket",
    sites: [site({ servers: [{ host: '127.0.0.1', port: 5000, socket: `${dir}/sockets/a.sock`, backup: false }] })],
    has: [`server unix:${dir}/sockets/a.sock max_fails=1 fail_timeout=5s;`],
    lacks: ['server 127.0.0.1:5000'],
  },
  {
    name: "many apps with the longest names: nginx's host name hashes still build",
    sites: Array.from({ length: 40 }, (_, i) => {
      const app = `a${String(i).padStart(2, '0')}-${'x'.repeat(26)}`;
      const hostNames = [`${app}.example.test`, `${app}-production.example.test`];
      return site({ id: `e${i}`, app, hostNames, domains: [{ name: `www.${'d'.repeat(60)}${i}.example.test` }] });
    }),
    has: ['server_names_hash_bucket_size 256;', 'map_hash_bucket_size 256;'],
  },
  {
    name: 'websockets, forwarding headers, request ids, long-lived streams',
    sites: [site()],
    has: [
      'map $http_upgrade $wm_connection { default upgrade; "" ""; }',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_set_header X-Forwarded-Port $server_port;',
      'proxy_set_header X-Request-Id $wm_request_id;',
      'proxy_buffering off;',
      'worker_shutdown_timeout 2s;',
    ],
  },
];

describe('edge config renderer', () => {
  it.each(cases)('$name', (c) => {
    const text = renderEdgeConfig(c.sites, { ...layout, ...c.layout });
    for (const fragment of c.has) expect(text).toContain(fragment);
    for (const fragment of c.lacks ?? []) expect(text).not.toContain(fragment);
    // and nginx itself accepts it
    const file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, text);
    for (const sub of ['relay', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    execFileSync(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', file, '-e', layout.errorLog], { stdio: 'pipe' });
  });

  it('refuses a name that could break out of the config', () => {
    expect(() => renderEdgeConfig([site({ hostNames: ['a.test; include /etc/passwd'] })], layout)).toThrow(
      /not a valid name/,
    );
    expect(() =>
      renderEdgeConfig([site({ servers: [{ host: '1.2.3.4;x', port: 1, backup: false }] })], layout),
    ).toThrow(/not a valid name/);
  });

  it('gives production APP.DOMAIN and APP-production.DOMAIN, other environments APP-ENV.DOMAIN', () => {
    expect(platformNames({ appName: 'shop', name: 'production' }, 'x.test')).toEqual([
      'shop.x.test',
      'shop-production.x.test',
    ]);
    expect(platformNames({ appName: 'shop', name: 'staging' }, 'x.test')).toEqual(['shop-staging.x.test']);
  });
});
