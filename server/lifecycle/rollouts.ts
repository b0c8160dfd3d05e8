import type { BuildLog } from '../logs/index.ts';
import { type Rack, releaseSpec } from '../racks/rack.ts';
import type { RackSet } from '../racks/rack-set.ts';
import { type PlacementBook, type RolloutDeps, rollOut } from '../racks/rollout.ts';
import type { Environment, Placement, Release, Store } from '../store/index.ts';

interface RolloutsDeps {
  store: Store;
  racks: Pick<RackSet, 'forEnvironment' | 'named'>;
  /** How long replaced instances keep finishing requests already routed to them. */
  drainMs: number;
  /** Resolves once the edge serves the routing the store holds now (after a rollout moved traffic). */
  routingSynced: () => Promise<void>;
}

/** A rack that serves something new, and what it served before (still running until retired). */
export interface Replaced {
  rack: Rack;
  previous?: Placement;
}

/**
 * Moves an environment's racks onto a release at a formation (deploys, rollbacks, scale,
 * stop/start), all or nothing, and retires the instances that served before.
 */
export class Rollouts {
  constructor(private readonly deps: RolloutsDeps) {}

  /** Every rack of the environment onto `release` at `formation`; racks it no longer lists are dropped. */
  async rollOut(
    env: Environment,
    release: Release,
    formation: Record<string, number>,
    log: BuildLog,
    timeRack?: RolloutDeps['timeRack'],
  ): Promise<Replaced[]> {
    const { racks: targets, parallel } = this.deps.racks.forEnvironment(env.id);
    const spec = releaseSpec(env, release, formation);
    const target = { environmentId: env.id, releaseId: release.id, spec, racks: targets, parallel };
    const deps = {
      placements: this.placementBook(env),
      specOf: (id: number) => this.specOf(env, id),
      routingSynced: this.deps.routingSynced,
      timeRack,
    };
    const moved = await rollOut(target, deps, log);
    return [...moved, ...this.dropUnlistedRacks(env, targets)];
  }

  /** Old instances get the drain time to finish requests already routed to them, then stop. */
  async retire(replaced: Replaced[]): Promise<void> {
    const old = replaced.filter((r) => r.previous && r.previous.instances.length > 0);
    if (old.length === 0) return;
    await new Promise((r) => setTimeout(r, this.deps.drainMs));
    await Promise.all(old.map(({ rack, previous }) => rack.stop(previous!.instances)));
  }

  private placementBook(env: Environment): PlacementBook {
    const { store } = this.deps;
    return {
      current: (rack) => store.placements.of(env.id).find((p) => p.rack === rack),
      set: (placement) => store.placements.set(placement),
      remove: (rack) => store.placements.remove(env.id, rack),
    };
  }

  private specOf(env: Environment, releaseId: number) {
    const release = this.deps.store.releases.byId(releaseId);
    return release && releaseSpec(env, release, this.deps.store.apps.formation(env.id));
  }

  /** Racks the environment no longer lists stop serving it once the new release is live everywhere. */
  private dropUnlistedRacks(env: Environment, listed: Rack[]): Required<Replaced>[] {
    const { store, racks } = this.deps;
    const dropped = store.placements.of(env.id).filter((p) => !listed.some((r) => r.name === p.rack));
    for (const placement of dropped) store.placements.remove(env.id, placement.rack);
    return dropped.flatMap((previous) => {
      const rack = racks.named(env.id, previous.rack);
      return rack ? [{ rack, previous }] : [];
    });
  }
}
