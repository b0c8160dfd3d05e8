/**
 * A region's edge: nginx as a global Swarm service, one task per node, publishing one port on
 * each node (host mode: the routing mesh needs IPVS) and routing by host name to the tasks of
 * each environment's web service, found by Docker's DNS on that environment's overlay network.
 * Rendered as data here (unit-tested in test/unit/swarm-spec.test.ts).
 */
import { LABEL, WEB_PORT } from './swarm-spec.ts';

export interface RegionSite {
  hostNames: string[];
  /** the environment's web service: its name resolves to every task (dnsrr) */
  service: string;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const SERVICE_NAME = /^[a-z0-9-]+$/;

function checked(name: string, pattern: RegExp): string {
  if (!pattern.test(name)) throw new Error(`region edge: "${name}" is not a valid name`);
  return name;
}

export function renderRegionEdge(sites: RegionSite[], port: number): string {
  const servers = sites.map((site) =>
    [
      `  server { listen ${port}; server_name ${site.hostNames.map((n) => checked(n, HOST_NAME)).join(' ')};`,
      `    location / { set $wm_upstream ${checked(site.service, SERVICE_NAME)}; proxy_pass http://$wm_upstream:${WEB_PORT}; } }`,
    ].join('\n'),
  );
  return [
    'worker_processes 1; pid /tmp/edge.pid; error_log stderr warn;',
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    "  # Docker's DNS: a web service's name is every one of its tasks, looked up again every 2 s",
    '  resolver 127.0.0.11 valid=2s ipv6=off;',
    '  client_max_body_size 100m; proxy_request_buffering off; proxy_buffering off;',
    "  map $http_upgrade $wm_connection { default upgrade; '' ''; }",
    '  proxy_http_version 1.1; proxy_set_header Host $http_host;',
    '  proxy_set_header Connection $wm_connection; proxy_set_header Upgrade $http_upgrade;',
    '  proxy_next_upstream error timeout http_502; proxy_next_upstream_tries 3;',
    '  proxy_connect_timeout 2s; proxy_read_timeout 1h; proxy_send_timeout 1h;',
    `  server { listen ${port} default_server; location / { return 404; } }`,
    ...servers,
    '}',
    '',
  ].join('\n');
}

export const REGION_EDGE_SERVICE = 'wm-edge';

/** The edge service: every node runs one task; an update replaces them one node at a time. */
export function regionEdgeSpec(input: {
  image: string;
  config: string;
  networks: string[];
  port: number;
  installationId: string;
}) {
  const start = 'printf "%s" "$WIDEMESH_EDGE_CONF" > /tmp/edge.conf && exec nginx -c /tmp/edge.conf -g "daemon off;"';
  return {
    Name: REGION_EDGE_SERVICE,
    Labels: { [`${LABEL}.installation`]: input.installationId, [`${LABEL}.role`]: 'edge' } as Record<string, string>,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Command: ['/bin/sh', '-c', start],
        Env: [`WIDEMESH_EDGE_CONF=${input.config}`],
        Init: true,
        StopGracePeriod: 5_000_000_000,
        Labels: {} as Record<string, string>,
      },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Networks: [...input.networks].sort().map((Target) => ({ Target })),
    },
    Mode: { Global: {} },
    // a node's port is held by its one task: the old one has to go first
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 2_000_000_000 },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: [{ Protocol: 'tcp', TargetPort: input.port, PublishedPort: input.port, PublishMode: 'host' }],
    },
  };
}
