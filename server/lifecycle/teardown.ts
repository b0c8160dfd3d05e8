import type pino from 'pino';
import { errorMessage } from '../errors.ts';
import { lineLog } from '../logs/index.ts';
import type { Rack } from '../racks/rack.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { Environment, Instance, Store } from '../store/index.ts';

interface TeardownDeps {
  store: Store;
  racks: Pick<RackSet, 'named'>;
  logger: pino.Logger;
  /** Resolves once the edge routes by the store as it is now (see Edge.sync). */
  routingSynced: () => Promise<void>;
}

interface Serving {
  rack: Rack | undefined;
  instances: Instance[];
}

/**
 * The one way instances stop serving for good: unroute → wait for the edge to stop routing →
 * remove the instances (a cloud rack deletes its service). Removing first would let the edge send requests to stopped instances,
 * which it answers with 502. Callers hold the app's deploy lock.
 */
export class Teardown {
  constructor(private readonly deps: TeardownDeps) {}

  /**
   * Stops everything serving `envs`; `unroute` makes the store change the edge routes by
   * (deleting the rows, or only their placements).
   */
  async takeDown(envs: Environment[], unroute: () => void): Promise<void> {
    const { logger } = this.deps;
    // the racks are looked up while the environments still exist: they may be custom racks
    const serving = envs.flatMap((env) => this.serving(env));
    unroute();
    await this.deps
      .routingSynced()
      .catch((err) =>
        logger.warn({ err: errorMessage(err) }, 'the edge did not confirm the routing change; stopping anyway'),
      );
    const log = lineLog((line) => logger.info(line));
    for (const { rack, instances } of serving) {
      // a local instance left behind is an orphan the next reconcile removes; a cloud service is deleted
      await rack
        ?.remove(instances, log)
        .catch((err) => logger.warn({ err: errorMessage(err), rack: rack.name }, 'could not remove instances'));
    }
  }

  /** Unroutes only the placements: the environment stays, with nothing serving it. */
  async takeDownPlacements(env: Environment): Promise<void> {
    const { store } = this.deps;
    await this.takeDown([env], () => {
      for (const placement of store.placements.of(env.id)) store.placements.remove(env.id, placement.rack);
    });
  }

  private serving(env: Environment): Serving[] {
    return this.deps.store.placements
      .of(env.id)
      .map((p) => ({ rack: this.deps.racks.named(env.id, p.rack), instances: p.instances }));
  }
}
