import type pino from 'pino';
import { errorMessage } from '../errors.ts';
import { type BuildLog, lineLog } from '../logs/index.ts';
import type { Instance, Placement, Store } from '../store/index.ts';
import { type FoundInstance, type Rack, releaseSpec } from './rack.ts';

export interface ReconcileReport {
  adopted: number;
  revived: number;
  replaced: number;
  removed: number;
}

export const emptyReport = (): ReconcileReport => ({ adopted: 0, revived: 0, replaced: 0, removed: 0 });

/**
 * After a start (or a crash), make the racks match the store: adopt the instances the
 * placements name, start again the ones that stopped, replace the ones that vanished, and
 * remove this installation's containers that nothing points at (cut-off deploys).
 */
export async function reconcile(store: Store, racks: Rack[], logger: pino.Logger): Promise<ReconcileReport> {
  const report = emptyReport();
  const placements = store.allPlacements();
  for (const rack of racks.filter((r) => r.reconcilable)) {
    const found = new Map((await rack.list()).map((i) => [i.id, i]));
    const wanted = new Set<string>();
    for (const placement of placements.filter((p) => p.rack === rack.name)) {
      for (const instance of placement.instances) wanted.add(instance.id);
      await restorePlacement({ store, rack, logger, found, report }, placement);
    }
    const orphans = [...found.values()].filter((i) => !wanted.has(i.id));
    await rack.stop(orphans);
    report.removed += orphans.length;
  }
  return report;
}

export interface RestoreContext {
  store: Store;
  rack: Rack;
  logger: pino.Logger;
  /** What the rack holds now, by instance id. */
  found: Map<string, FoundInstance>;
  report: ReconcileReport;
}

/** True when every instance of the placement is running (or being restarted by the engine). */
export const placementRuns = (placement: Placement, found: Map<string, FoundInstance>): boolean =>
  placement.instances.every((i) => found.get(i.id)?.running);

/**
 * Makes one placement's instances run again: each one running is kept, a stopped one is started
 * again, a vanished one (or one that cannot start) is replaced by a new instance of its service.
 */
export async function restorePlacement(ctx: RestoreContext, placement: Placement): Promise<void> {
  const instances: Instance[] = [];
  let replaced = false;
  for (const instance of placement.instances) {
    const existing = ctx.found.get(instance.id);
    if (existing?.running) ctx.report.adopted += 1;
    else if (existing && (await ctx.rack.revive(instance))) ctx.report.revived += 1;
    else {
      replaced = true;
      instances.push(...(await replaceInstance(ctx, placement, instance)));
      await ctx.rack.stop([instance]); // what is left of it: a stopped container, its relay
      continue;
    }
    instances.push(instance);
  }
  if (replaced) ctx.store.setPlacement({ ...placement, instances });
}

/** One new instance of the vanished instance's service, running the placement's release. */
async function replaceInstance(ctx: RestoreContext, placement: Placement, instance: Instance): Promise<Instance[]> {
  const release = ctx.store.getReleaseById(placement.releaseId);
  const env = ctx.store.listEnvironments().find((e) => e.id === placement.environmentId);
  if (!release || !env) return [];
  try {
    // only the vanished instance's service, one instance: the others were kept
    const fresh = await ctx.rack.start(releaseSpec(env, release, { [instance.service]: 1 }), operatorLog(ctx.logger));
    ctx.report.replaced += 1;
    return fresh;
  } catch (err) {
    ctx.logger.error(
      { rack: ctx.rack.name, app: env.appName, err: errorMessage(err) },
      'could not replace a vanished instance',
    );
    return [];
  }
}

/** Instance output during reconciliation goes to the operator's log, not to a user's build log. */
const operatorLog = (logger: pino.Logger): BuildLog => lineLog((line) => logger.info(line));
