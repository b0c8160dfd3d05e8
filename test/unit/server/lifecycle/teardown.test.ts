import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Teardown } from '../../../../server/lifecycle/teardown.ts';
import type { Rack } from '../../../../server/racks/rack.ts';
import type { RackSet } from '../../../../server/racks/rack-set.ts';
import type { Environment, Instance, Placement, Store } from '../../../../server/store/index.ts';

const env = (id: number, name: string): Environment => ({
  id,
  appId: 1,
  appName: 'shop',
  name,
  branch: null,
  preview: false,
});
const instance = (id: string): Instance => ({ id, service: 'web', host: '127.0.0.1', port: 5000 });

/**
 * One environment per id, each served by one instance in rack `local-a`; `events` records, in
 * order, the routing change, the edge's confirmation and every removal.
 */
function world(options: { edgeFails?: boolean } = {}) {
  const events: string[] = [];
  const placements = new Map<number, Placement[]>([
    [1, [{ environmentId: 1, rack: 'local-a', releaseId: 1, instances: [instance('prod-1')] }]],
    [2, [{ environmentId: 2, rack: 'local-a', releaseId: 2, instances: [instance('staging-1')] }]],
  ]);
  const rack = {
    name: 'local-a',
    remove: async (instances: Instance[]) => {
      events.push(`remove ${instances.map((i) => i.id).join(',')}`);
    },
  } as unknown as Rack;
  const store = {
    placements: {
      of: (id: number) => placements.get(id) ?? [],
      remove: (id: number) => placements.delete(id),
    },
  } as unknown as Store;
  // a rack is found only while its environment exists (custom racks are stored with it)
  const racks = { named: (id: number) => (placements.has(id) ? rack : undefined) } as unknown as RackSet;
  const routingSynced = async () => {
    events.push('edge synced');
    if (options.edgeFails) throw new Error('nginx did not reload');
  };
  const teardown = new Teardown({ store, racks, logger: pino({ level: 'silent' }), routingSynced });
  const unroute = (ids: number[]) => () => {
    for (const id of ids) placements.delete(id);
    events.push(`unrouted ${ids.join(',')}`);
  };
  return { teardown, events, placements, unroute };
}

describe('teardown: unroute → wait for the edge → remove', () => {
  it('stops instances only once the edge routes without them', async () => {
    const { teardown, events, unroute } = world();
    await teardown.takeDown([env(1, 'production'), env(2, 'staging')], unroute([1, 2]));
    expect(events).toEqual(['unrouted 1,2', 'edge synced', 'remove prod-1', 'remove staging-1']);
  });

  it('still stops them when the edge does not confirm (an instance left would be an orphan)', async () => {
    const { teardown, events, unroute } = world({ edgeFails: true });
    await teardown.takeDown([env(2, 'staging')], unroute([2]));
    expect(events).toEqual(['unrouted 2', 'edge synced', 'remove staging-1']);
  });

  it('takes down only the placements, keeping the environment, in the same order', async () => {
    const { teardown, events, placements } = world();
    await teardown.takeDownPlacements(env(1, 'production'));
    expect(placements.has(1)).toBe(false);
    expect(events).toEqual(['edge synced', 'remove prod-1']);
  });
});
