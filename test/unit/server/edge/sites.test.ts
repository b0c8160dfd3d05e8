import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Edge } from '../../../../server/edge/index.ts';
import { SecretBox } from '../../../../server/secrets.ts';
import type { Store } from '../../../../server/store/index.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

const temp = useTempStore();

function edgeOf(store: Store): Edge {
  return new Edge({
    store,
    edgeStore: store.edge,
    secrets: SecretBox.open('/nonexistent', 'ab'.repeat(32)),
    dataDir: '/nonexistent',
    domain: 'x.test',
    http: { host: '127.0.0.1', port: 7080 },
    https: { host: '127.0.0.1', port: 7443 },
    drainMs: 1000,
    accessLog: '/nonexistent/access.jsonl',
    logger: pino({ level: 'silent' }),
  });
}

function place(store: Store, app: string, env: string, racks: [string, number[]][]): void {
  const environment = store.apps.environment(app, env)!;
  const release = store.releases.create({
    environmentId: environment.id,
    buildId: null,
    image: 'i',
    processes: {},
    config: {},
    manifest: {},
    description: 'd',
  });
  for (const [rack, ports] of racks) {
    const instances = ports.map((port) => ({ id: `${rack}-${port}`, service: 'web', host: '127.0.0.1', port }));
    store.placements.set({ environmentId: environment.id, rack, releaseId: release.id, instances });
  }
}

describe('what the edge serves, read from the store', () => {
  it('lists web instances in rack order, the first rack primary, the others backup', () => {
    const store = temp.store();
    store.apps.create('shop');
    place(store, 'shop', 'production', [
      ['local-b', [6001]],
      ['local-a', [5001, 5002]],
    ]);
    const [site] = edgeOf(store).sites();
    expect(site).toMatchObject({ app: 'shop', environment: 'production', maintenance: false, domains: [] });
    expect(site!.hostNames).toEqual(['shop.x.test', 'shop-production.x.test']);
    expect(site!.servers.map((s) => `${s.port}${s.backup ? ' backup' : ''}`)).toEqual(['5001', '5002', '6001 backup']);
  });

  it('gives a host name two environments could claim to the reading the router always preferred', () => {
    const store = temp.store();
    store.apps.create('a-b'); // production: a-b.x.test
    store.apps.create('a');
    store.apps.createEnvironment(store.apps.get('a')!.id, 'b', 'b', false);
    const sites = edgeOf(store).sites();
    expect(sites.find((s) => s.app === 'a-b')!.hostNames).toEqual(['a-b.x.test', 'a-b-production.x.test']);
    expect(sites.find((s) => s.app === 'a' && s.environment === 'b')!.hostNames).toEqual([]);
  });

  it('carries maintenance and custom domains', () => {
    const store = temp.store();
    store.apps.create('shop');
    const env = store.apps.environment('shop', 'production')!;
    const edgeStore = store.edge;
    edgeStore.updateSettings(env.id, { maintenance: true });
    edgeStore.addDomain('www.shop.example', env.id);
    const [site] = edgeOf(store).sites();
    expect(site).toMatchObject({ maintenance: true, domains: [{ name: 'www.shop.example', cert: undefined }] });
  });
});
