import { describe, expect, it } from 'vitest';
import { WidemeshError } from '../../../../server/errors.ts';
import { lineLog } from '../../../../server/logs/index.ts';
import type { FoundInstance, InstanceStatus, Rack, ReleaseSpec } from '../../../../server/racks/rack.ts';
import { type PlacementBook, type RolloutDeps, rollOut } from '../../../../server/racks/rollout.ts';
import type { Instance, Placement } from '../../../../server/store/index.ts';

const spec = (version: number): ReleaseSpec => ({
  app: 'shop',
  environment: 'production',
  version,
  image: `img:${version}`,
  processes: {},
  config: {},
  formation: { web: 1 },
  healthchecks: {},
  resources: {},
});

/** A rack that records what it was asked to do; `failWith` makes its next start fail. */
class FakeRack implements Rack {
  readonly reconcilable = false;
  readonly events: string[] = [];
  failWith?: WidemeshError;
  /** Set to hold start() until the test releases it (a slow cloud operation). */
  operation?: Promise<void>;

  constructor(readonly name: string) {}

  async start(s: ReleaseSpec): Promise<Instance[]> {
    this.events.push(`start v${s.version}`);
    if (this.operation) await this.operation;
    if (this.failWith) throw this.failWith;
    return [{ id: `${this.name}-v${s.version}`, service: 'web', host: '127.0.0.1', port: 1000 + s.version }];
  }
  async revert(started: Instance[], previous: ReleaseSpec | undefined): Promise<void> {
    // a cloud rack's revert waits for the operation in flight before it deploys the previous release
    if (this.operation) await this.operation;
    this.events.push(
      `revert [${started.map((i) => i.id).join(',')}] to ${previous ? `v${previous.version}` : 'nothing'}`,
    );
  }
  async stop(): Promise<void> {}
  async remove(): Promise<void> {}
  async status(): Promise<InstanceStatus[]> {
    return [];
  }
  async restart(): Promise<void> {}
  async list(): Promise<FoundInstance[]> {
    return [];
  }
  async revive(): Promise<boolean> {
    return true;
  }
  async output(_i: Instance, _o: unknown, _l: unknown, onEnd: () => void): Promise<() => void> {
    onEnd();
    return () => {};
  }
}

/** Placements in memory, starting with every rack on release 1 (v1). */
function book(racks: FakeRack[]): PlacementBook & { all: Map<string, Placement> } {
  const all = new Map<string, Placement>(
    racks.map((r) => [
      r.name,
      {
        environmentId: 1,
        rack: r.name,
        releaseId: 1,
        instances: [{ id: `${r.name}-v1`, service: 'web', host: '127.0.0.1', port: 1001 }],
      },
    ]),
  );
  return {
    all,
    current: (rack) => all.get(rack),
    set: (p) => all.set(p.rack, p),
    remove: (rack) => all.delete(rack),
  };
}

function deploy(racks: FakeRack[], placements: PlacementBook, parallel = false, timeRack?: RolloutDeps['timeRack']) {
  const log = lineLog(() => {});
  const target = { environmentId: 1, releaseId: 2, spec: spec(2), racks, parallel };
  const specOf = (id: number) => (id === 1 ? spec(1) : undefined);
  return rollOut(target, { placements, specOf, routingSynced: async () => {}, timeRack }, log);
}

describe('rollout', () => {
  it('moves every rack to the new release in order', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    const placements = book([a, b]);
    const moved = await deploy([a, b], placements);
    expect(moved.map((m) => [m.rack.name, m.previous?.releaseId])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect([...placements.all.values()].map((p) => p.releaseId)).toEqual([2, 2]);
  });

  it('waits for the edge to serve the new placements before it reports traffic moved', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    const placements = book([a, b]);
    const lines: string[] = [];
    let syncedWith: number[] = [];
    const routingSynced = async () => {
      syncedWith = [...placements.all.values()].map((p) => p.releaseId);
      lines.push('edge synced');
    };
    const target = { environmentId: 1, releaseId: 2, spec: spec(2), racks: [a, b], parallel: true };
    const log = lineLog((line) => lines.push(line));
    await rollOut(target, { placements, specOf: () => undefined, routingSynced }, log);
    expect(syncedWith).toEqual([2, 2]);
    expect(lines.findIndex((l) => l.includes('Traffic moved'))).toBeGreaterThan(lines.indexOf('edge synced'));
  });

  it("times each rack's rollout for the timeline, ending each with its outcome", async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    b.failWith = new WidemeshError('HEALTHCHECK_TIMEOUT', 'b never answered');
    const timed: string[] = [];
    const timeRack = (rack: string) => {
      timed.push(`${rack} started`);
      return (ok: boolean) => timed.push(`${rack} ${ok ? 'live' : 'failed'}`);
    };
    await expect(deploy([a, b], book([a, b]), false, timeRack)).rejects.toThrow('b never answered');
    expect(timed).toEqual(['a started', 'a live', 'b started', 'b failed']);
  });

  it('returns the first rack to the previous release when the second fails', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    b.failWith = new WidemeshError('HEALTHCHECK_TIMEOUT', 'b never answered');
    const placements = book([a, b]);
    await expect(deploy([a, b], placements)).rejects.toThrow('b never answered');
    expect(a.events).toEqual(['start v2', 'revert [a-v2] to v1']);
    expect(b.events).toEqual(['start v2']);
    expect(placements.all.get('a')?.releaseId).toBe(1);
    expect(placements.all.get('b')?.releaseId).toBe(1);
  });

  it('puts back a rack whose outcome is unknown, once its operation has ended', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    let endOperation!: () => void;
    b.operation = new Promise((resolve) => {
      endOperation = resolve;
    });
    b.failWith = new WidemeshError('APP_RUNNER_TIMEOUT', 'b did not finish in time');
    const placements = book([a, b]);
    const outcome = deploy([a, b], placements).catch((err: Error) => err.message);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.events).toEqual(['start v2']); // still waiting on the operation
    endOperation();
    expect(await outcome).toBe('b did not finish in time');
    expect(b.events).toEqual(['start v2', 'revert [] to v1']);
    expect(a.events).toEqual(['start v2', 'revert [a-v2] to v1']);
    expect(placements.all.get('b')?.releaseId).toBe(1);
  });

  it('in parallel, lets every rack finish, then returns the ones that moved', async () => {
    const [a, b, c] = [new FakeRack('a'), new FakeRack('b'), new FakeRack('c')];
    b.failWith = new WidemeshError('INSTANCE_CRASHED', 'b crashed');
    const placements = book([a, b, c]);
    await expect(deploy([a, b, c], placements, true)).rejects.toThrow('b crashed');
    expect(a.events).toEqual(['start v2', 'revert [a-v2] to v1']);
    expect(c.events).toEqual(['start v2', 'revert [c-v2] to v1']);
    expect(b.events).toEqual(['start v2']);
    expect([...placements.all.values()].every((p) => p.releaseId === 1)).toBe(true);
  });

  it('in parallel, moves traffic in no rack until every rack answers', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    let endOperation!: () => void;
    b.operation = new Promise((resolve) => {
      endOperation = resolve;
    });
    const placements = book([a, b]);
    const live: string[] = [];
    const outcome = deploy([a, b], placements, true, (rack) => (ok) => ok && live.push(rack));
    await expect.poll(() => live).toEqual(['a']);
    expect(placements.all.get('a')?.releaseId).toBe(1); // a answers, b does not yet: nothing moves
    endOperation();
    await outcome;
    expect([...placements.all.values()].map((p) => p.releaseId)).toEqual([2, 2]);
  });

  it('removes the placement of a first release that failed elsewhere', async () => {
    const [a, b] = [new FakeRack('a'), new FakeRack('b')];
    b.failWith = new WidemeshError('BUILD_FAILED', 'no');
    const placements = book([]);
    await expect(deploy([a, b], placements)).rejects.toThrow('no');
    expect(a.events).toEqual(['start v2', 'revert [a-v2] to nothing']);
    expect(placements.all.size).toBe(0);
  });
});
