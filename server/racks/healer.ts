import type pino from 'pino';
import { errorMessage } from '../errors.ts';
import type { AppLocks } from '../locks.ts';
import type { Store } from '../store/index.ts';
import type { Rack } from './rack.ts';
import { emptyReport, placementRuns, type RestoreContext, restorePlacement } from './reconcile.ts';

interface HealerDeps {
  store: Store;
  /** The racks whose instances the server runs itself (local Docker), as reconcile takes them. */
  racks: () => Rack[];
  locks: AppLocks;
  logger: pino.Logger;
  intervalMs: number;
}

/**
 * Brings back, while the server runs, instances of local racks that stopped for good (killed,
 * stopped by hand, their container removed): Docker's restart policy covers crashes, not these.
 * Each round looks at every placement; one whose instances do not all run is restored under its
 * app's deploy lock (re-read there, so a deploy that just moved it is not undone).
 */
export class Healer {
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;

  constructor(private readonly deps: HealerDeps) {}

  start(): void {
    const tick = () => {
      this.round = this.healOnce()
        .catch((err: unknown) => this.deps.logger.error({ err: errorMessage(err) }, 'healing round failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.deps.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.deps.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round over every local rack; resolves when every placement it found broken was restored. */
  async healOnce(): Promise<void> {
    for (const rack of this.deps.racks()) {
      const found = new Map((await rack.list()).map((i) => [i.id, i]));
      const broken = this.deps.store.placements.all().filter((p) => p.rack === rack.name && !placementRuns(p, found));
      for (const placement of broken) await this.heal(rack, placement.environmentId);
    }
  }

  private async heal(rack: Rack, environmentId: number): Promise<void> {
    const { store, locks, logger } = this.deps;
    const env = store.apps.environments().find((e) => e.id === environmentId);
    if (!env) return;
    await locks.run(
      env.appName,
      () => {},
      async () => {
        const placement = store.placements.all().find((p) => p.rack === rack.name && p.environmentId === env.id);
        const found = new Map((await rack.list()).map((i) => [i.id, i]));
        if (!placement || placementRuns(placement, found)) return;
        const ctx: RestoreContext = { store, rack, logger, found, report: emptyReport() };
        await restorePlacement(ctx, placement);
        logger.info({ app: env.appName, environment: env.name, rack: rack.name, ...ctx.report }, 'instances healed');
      },
    );
  }
}
