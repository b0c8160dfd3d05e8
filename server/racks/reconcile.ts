import type pino from 'pino';
import { errorMessage } from '../errors.ts';
import { type BuildLog, lineLog } from '../logs/index.ts';
import type { Store } from '../store/index.ts';
import { type Rack, releaseSpec } from './rack.ts';

export interface ReconcileReport {
  adopted: number;
  revived: number;
  replaced: number;
  removed: number;
}

/**
 * After a start (or a crash), make the racks match the store: adopt the instances the
 * placements name, start again the ones that stopped, replace the ones that vanished, and
 * remove this installation's containers that nothing points at (cut-off deploys).
 */
export async function reconcile(store: Store, racks: Rack[], logger: pino.Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { adopted: 0, revived: 0, replaced: 0, removed: 0 };
  const placements = store.placements.all();
  const log = operatorLog(logger);
  for (const rack of racks.filter((r) => r.reconcilable)) {
    const found = new Map((await rack.list()).map((i) => [i.id, i]));
    const wanted = new Set<string>();
    for (const placement of placements.filter((p) => p.rack === rack.name)) {
      const instances = [];
      for (const instance of placement.instances) {
        wanted.add(instance.id);
        const existing = found.get(instance.id);
        if (existing?.running || (existing && (await rack.revive(instance)))) {
          if (existing.running) report.adopted += 1;
          else report.revived += 1;
          instances.push(instance);
          continue;
        }
        const release = store.releases.byId(placement.releaseId);
        const env = store.apps.environments().find((e) => e.id === placement.environmentId);
        if (!release || !env) continue;
        try {
          // only the vanished instance's service, one instance: the others were adopted
          const fresh = await rack.start(releaseSpec(env, release, { [instance.service]: 1 }), log);
          instances.push(...fresh);
          report.replaced += 1;
        } catch (err) {
          logger.error(
            { rack: rack.name, app: env.appName, err: errorMessage(err) },
            'could not replace a vanished instance',
          );
        }
        if (existing) await rack.stop([existing]);
      }
      store.placements.set({ ...placement, instances });
    }
    const orphans = [...found.values()].filter((i) => !wanted.has(i.id));
    await rack.stop(orphans);
    report.removed += orphans.length;
  }
  return report;
}

/** Instance output during reconciliation goes to the operator's log, not to a user's build log. */
const operatorLog = (logger: pino.Logger): BuildLog => lineLog((line) => logger.info(line));
