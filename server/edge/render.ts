/**
 * The edge's nginx configuration, rendered from data: no I/O here, so every routing rule
 * is unit-tested as text (test/unit/edge-render.test.ts) and checked by `nginx -t` before use.
 */

/** One address nginx proxies to: an instance, in rack order (the first rack's are primary). */
export interface EdgeServer {
  host: string;
  port: number;
  /** reached over HTTPS under its own host name (cloud racks) */
  tls?: boolean;
  /** an isolated instance: only its relay's unix socket reaches it */
  socket?: string;
  backup: boolean;
}

/** A host name of an environment outside the platform domain, with its certificate files once it has one. */
export interface EdgeDomain {
  name: string;
  cert?: { certFile: string; keyFile: string };
}

/** One app environment as the edge serves it. */
export interface EdgeSite {
  /** unique, [a-z0-9_]: names the upstream */
  id: string;
  app: string;
  environment: string;
  /** APP.DOMAIN (production), APP-ENV.DOMAIN */
  hostNames: string[];
  servers: EdgeServer[];
  maintenance: boolean;
  httpsRedirect: boolean;
  domains: EdgeDomain[];
}

export interface Listen {
  host: string;
  port: number;
}

export interface EdgeLayout {
  http: Listen;
  https: Listen;
  /** the edge's own directory: temp files, tls relay sockets, ACME challenge answers (acme/) */
  dir: string;
  pidFile: string;
  errorLog: string;
  accessLog: string;
  controlSocket: string;
  /** nginx's `user` for workers (only when the master runs as root) */
  workerUser?: string;
  /** operator-supplied certificate for *.DOMAIN */
  platformCert?: { certFile: string; keyFile: string };
  /** DNS servers for cloud instances' names, looked up per request (a name that fails must not fail the config) */
  resolvers?: string[];
  /** how long old workers keep serving open connections after a reload */
  shutdownTimeoutSeconds: number;
  /** answered on the control socket, so a reload is confirmed once new workers serve it */
  generation: string;
}

/** Names nginx reads without quoting surprises: validated host names and numbers only reach the config. */
const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const IP_OR_NAME = /^[a-z0-9.:[\]-]+$/i;
const SOCKET_PATH = /^\/[A-Za-z0-9._/-]+$/;

function checked(name: string, pattern: RegExp): string {
  if (!pattern.test(name)) throw new Error(`edge config: "${name}" is not a valid name`);
  return name;
}

const listenOn = (l: Listen) => `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;

function page(status: number, title: string, text: string, extra = ''): string {
  const html = `<!doctype html><title>${title}</title><h1>${title}</h1><p>${text}</p>\\n`;
  return `default_type text/html;${extra} add_header Cache-Control no-store always; return ${status} "${html}";`;
}

const NOT_RUNNING = page(503, 'Not running', 'This app has no running instance yet. Push code to deploy it.');
const NOT_ANSWERING = page(
  502,
  'App not answering',
  'No instance of this app answered. It may be restarting; try again in a moment.',
);
const MAINTENANCE = page(
  503,
  'Down for maintenance',
  'This app is down for maintenance; try again in a few minutes.',
  ' add_header Retry-After 120 always;',
);

/** http{} settings every site shares: forwarding headers, websockets, failover, the JSON access log. */
function httpPreamble(layout: EdgeLayout): string[] {
  const tmp = (name: string) => `${layout.dir}/tmp/${name}`;
  return [
    'server_tokens off;',
    '# host names run to 253 characters (custom domains), and there is one set per environment',
    'server_names_hash_bucket_size 256; server_names_hash_max_size 16384;',
    'map_hash_bucket_size 256; map_hash_max_size 16384;',
    `client_body_temp_path ${tmp('body')}; proxy_temp_path ${tmp('proxy')};`,
    `fastcgi_temp_path ${tmp('fastcgi')}; uwsgi_temp_path ${tmp('uwsgi')}; scgi_temp_path ${tmp('scgi')};`,
    'client_max_body_size 100m;',
    'log_format widemesh escape=json \'{"at":"$time_iso8601","msec":$msec,"app":"$wm_app","environment":"$wm_env",\'',
    '  \'"method":"$request_method","path":"$request_uri","status":$status,"seconds":$request_time,\'',
    '  \'"upstream":"$upstream_addr","requestId":"$wm_request_id"}\';',
    '# websockets: Upgrade passes through; otherwise an empty Connection keeps upstream connections alive',
    'map $http_upgrade $wm_connection { default upgrade; "" ""; }',
    "# a client's X-Request-Id is kept when it is well formed, else nginx makes one",
    'map $http_x_request_id $wm_request_id { default $request_id; "~^[A-Za-z0-9._:+/=-]{8,200}$" $http_x_request_id; }',
    'proxy_http_version 1.1;',
    'proxy_set_header Host $http_host;',
    'proxy_set_header Connection $wm_connection;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $host;',
    'proxy_set_header X-Forwarded-Port $server_port;',
    'proxy_set_header X-Request-Id $wm_request_id;',
    '# hop-by-hop headers end here',
    'proxy_set_header Keep-Alive ""; proxy_set_header Proxy-Connection ""; proxy_set_header TE "";',
    'proxy_set_header Trailer "";',
    'add_header X-Request-Id $wm_request_id always;',
    '# a request goes to the next server only when the one tried could not be reached: a relay answers',
    "# 502 when its app refused the connection (nginx's own retry), a refused or timed-out connect goes",
    '# through @wm_retry; an instance that died while answering closed a connection it had: not replayed',
    'proxy_next_upstream http_502;',
    'proxy_next_upstream_tries 4; proxy_next_upstream_timeout 15s;',
    'recursive_error_pages on;',
    'proxy_connect_timeout 3s;',
    '# websockets and event streams stay open; responses stream as they come (no buffering)',
    'proxy_read_timeout 1h; proxy_send_timeout 1h;',
    'proxy_buffering off;',
  ];
}

function upstream(site: EdgeSite, layout: EdgeLayout): string[] {
  const lines = site.servers.map((s) => {
    const address = s.socket
      ? `unix:${checked(s.socket, SOCKET_PATH)}`
      : s.tls
        ? `unix:${relaySocket(site, s, layout)}`
        : `${checked(s.host, IP_OR_NAME)}:${s.port}`;
    return `  server ${address} max_fails=1 fail_timeout=5s${s.backup ? ' backup' : ''};`;
  });
  return [`upstream wm_${site.id} {`, ...lines, '  keepalive 32;', '}'];
}

/** Cloud instances answer HTTPS under their own name: a local relay per instance sets Host and SNI. */
function relaySocket(site: EdgeSite, s: EdgeServer, layout: EdgeLayout): string {
  return `${layout.dir}/relay/${site.id}-${checked(s.host, IP_OR_NAME)}-${s.port}.sock`;
}

function tlsRelays(site: EdgeSite, layout: EdgeLayout): string[] {
  const resolvers = (layout.resolvers ?? []).map((r) => checked(r, IP_OR_NAME));
  return site.servers
    .filter((s) => s.tls)
    .flatMap((s) => [
      'server {',
      `  listen unix:${relaySocket(site, s, layout)};`,
      '  access_log off;',
      ...(resolvers.length > 0 ? [`  resolver ${resolvers.join(' ')} valid=60s;`] : []),
      '  location / {',
      `    set $wm_target ${s.host};`,
      `    proxy_pass https://$wm_target:${s.port};`,
      `    proxy_set_header Host ${s.host};`,
      '    proxy_ssl_server_name on;',
      `    proxy_ssl_name ${s.host};`,
      '  }',
      '}',
    ]);
}

/** What a site's location answers: the app, the maintenance page, or "not running". */
function siteLocation(site: EdgeSite): string[] {
  if (site.maintenance) return ['  location / {', `    ${MAINTENANCE}`, '  }'];
  if (site.servers.length === 0) return ['  location / {', `    ${NOT_RUNNING}`, '  }'];
  return [
    '  location / {',
    `    proxy_pass http://wm_${site.id};`,
    '    error_page 502 504 = @wm_retry1;',
    '  }',
    ...connectRetries(site),
    `  location @wm_down { ${NOT_ANSWERING} }`,
  ];
}

/** Tries after the first: each server that could not be reached is marked down (max_fails=1). */
const CONNECT_RETRIES = 3;

/**
 * nginx's `error` retry also replays a request whose server died while answering it (the request
 * that killed it would kill the next rack too), so a failed try lands here instead: it goes on
 * to the next server only when the last try never connected (`$upstream_connect_time` ends with
 * "-"), else it answers the "not answering" page.
 */
function connectRetries(site: EdgeSite): string[] {
  return Array.from({ length: CONNECT_RETRIES }, (_, i) => {
    const next = i + 1 < CONNECT_RETRIES ? `= @wm_retry${i + 2}` : '@wm_down';
    return [
      `  location @wm_retry${i + 1} {`,
      '    if ($upstream_connect_time !~ "-$") { error_page 502 504 @wm_down; return 502; }',
      `    proxy_pass http://wm_${site.id};`,
      `    error_page 502 504 ${next};`,
      '  }',
    ];
  }).flat();
}

/** ACME HTTP-01 answers, served on every name of every site (maintenance and redirects included). */
const acmeChallenges = (layout: EdgeLayout) =>
  `  location ^~ /.well-known/acme-challenge/ { root ${layout.dir}/acme; default_type text/plain; }`;

function siteServer(site: EdgeSite, layout: EdgeLayout, listens: string[], names: string[], cert?: EdgeDomain['cert']) {
  return [
    'server {',
    ...listens.map((l) => `  listen ${l};`),
    `  server_name ${names.map((n) => checked(n, HOST_NAME)).join(' ')};`,
    ...(cert ? [`  ssl_certificate ${cert.certFile};`, `  ssl_certificate_key ${cert.keyFile};`] : []),
    acmeChallenges(layout),
    ...siteLocation(site),
    '}',
  ];
}

function redirectServer(names: string[], layout: EdgeLayout): string[] {
  const port = layout.https.port === 443 ? '' : `:${layout.https.port}`;
  return [
    'server {',
    `  listen ${listenOn(layout.http)};`,
    `  server_name ${names.map((n) => checked(n, HOST_NAME)).join(' ')};`,
    acmeChallenges(layout),
    `  location / { return 308 https://$host${port}$request_uri; }`,
    '}',
  ];
}

/**
 * A site's servers, one per certificate: the platform names (HTTPS with the operator's wildcard
 * certificate, if any), then each custom domain. With the redirect on, a name that has a certificate
 * answers HTTP with a 308 to HTTPS; a name without one keeps answering over HTTP.
 */
function siteServers(site: EdgeSite, layout: EdgeLayout): string[] {
  const groups = [
    { names: site.hostNames, cert: layout.platformCert },
    ...site.domains.map((d) => ({ names: [d.name], cert: d.cert })),
  ].filter((g) => g.names.length > 0);
  return groups.flatMap(({ names, cert }) => {
    const redirect = site.httpsRedirect && cert !== undefined;
    const listens = [...(redirect ? [] : [listenOn(layout.http)]), ...(cert ? [`${listenOn(layout.https)} ssl`] : [])];
    return [...siteServer(site, layout, listens, names, cert), ...(redirect ? redirectServer(names, layout) : [])];
  });
}

/** Any host the edge does not know: a 404 page over HTTP, a refused handshake over HTTPS. */
function defaultServers(layout: EdgeLayout, anyTls: boolean): string[] {
  const notFound = page(404, 'No app here', 'Widemesh has no app at this address.');
  return [
    'server {',
    `  listen ${listenOn(layout.http)} default_server;`,
    '  access_log off;',
    `  location / { ${notFound} }`,
    '}',
    ...(anyTls
      ? ['server {', `  listen ${listenOn(layout.https)} ssl default_server;`, '  ssl_reject_handshake on;', '}']
      : []),
    'server {',
    `  listen unix:${layout.controlSocket};`,
    '  access_log off;',
    `  location = /generation { default_type text/plain; return 200 "${layout.generation}"; }`,
    '}',
  ];
}

/** The access log's app and environment, by the server that answered ($server_name is its first name). */
function siteMaps(sites: EdgeSite[]): string[] {
  const entries = (value: (s: EdgeSite) => string) =>
    sites.flatMap((s) =>
      [...s.hostNames.slice(0, 1), ...s.domains.map((d) => d.name)].map(
        (name) => `  ${checked(name, HOST_NAME)} ${checked(value(s), HOST_NAME)};`,
      ),
    );
  return [
    'map $server_name $wm_app {',
    '  default "";',
    ...entries((s) => s.app),
    '}',
    'map $server_name $wm_env {',
    '  default "";',
    ...entries((s) => s.environment),
    '}',
  ];
}

export function renderEdgeConfig(sites: EdgeSite[], layout: EdgeLayout): string {
  const anyTls = layout.platformCert !== undefined || sites.some((s) => s.domains.some((d) => d.cert));
  const body = [
    ...httpPreamble(layout),
    ...siteMaps(sites),
    `access_log ${layout.accessLog} widemesh buffer=32k flush=1s;`,
    ...sites.flatMap((s) => (s.servers.length > 0 ? upstream(s, layout) : [])),
    ...sites.flatMap((s) => tlsRelays(s, layout)),
    ...defaultServers(layout, anyTls),
    ...sites.flatMap((s) => siteServers(s, layout)),
  ];
  return [
    '# Rendered by the Widemesh server from its store: edits are overwritten at the next routing change.',
    ...(layout.workerUser ? [`user ${layout.workerUser};`] : []),
    'worker_processes auto;',
    `pid ${layout.pidFile};`,
    `error_log ${layout.errorLog} warn;`,
    `worker_shutdown_timeout ${layout.shutdownTimeoutSeconds}s;`,
    'events { worker_connections 4096; }',
    'http {',
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}
