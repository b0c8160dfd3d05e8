import { errorMessage, WidemeshError } from '../errors.ts';
import { type BuildLog, secondsSince } from '../logs/index.ts';
import type { Instance, Placement } from '../store/index.ts';
import { OUTCOME_UNKNOWN, type Rack, type ReleaseSpec } from './rack.ts';

/**
 * The placements of one environment (which release's instances serve it in each rack).
 * Backed by the store in the server, by a map in tests.
 */
export interface PlacementBook {
  current(rack: string): Placement | undefined;
  set(placement: Placement): void;
  remove(rack: string): void;
}

interface RolloutTarget {
  environmentId: number;
  releaseId: number;
  spec: ReleaseSpec;
  racks: Rack[];
  parallel: boolean;
}

export interface RolloutDeps {
  placements: PlacementBook;
  /** What an earlier release ran, to put a rack back to it. */
  specOf(releaseId: number): ReleaseSpec | undefined;
  /** Resolves once the edge routes by the placements just set (a reload that fails is the edge's to report). */
  routingSynced(): Promise<void>;
  /** Times each rack's rollout for the deploy timeline (a release's first rollout; not a re-scale). */
  timeRack?(rack: string): (ok: boolean) => void;
}

/** A rack that now serves the new release, and what it served before (still running, to retire). */
interface Move {
  rack: Rack;
  previous?: Placement;
  started: Instance[];
}

/**
 * Rolls a release out across the environment's racks, all or nothing: the new instances start
 * in every rack (at once when `parallel`), and traffic moves in every rack together only once
 * all of them answer. If any rack fails, every rack that started (and every rack whose outcome
 * is unknown) goes back to what it served before, and the error is thrown.
 */
export async function rollOut(target: RolloutTarget, deps: RolloutDeps, log: BuildLog): Promise<Move[]> {
  const ready: Move[] = [];
  const uncertain: Rack[] = [];
  const startIn = async (rack: Rack) => {
    const started = Date.now();
    log.step(`Releasing v${target.spec.version} to ${rack.name}`);
    const timed = deps.timeRack?.(rack.name);
    const instances = await rack.start(target.spec, log).catch((err: unknown) => {
      timed?.(false);
      if (err instanceof WidemeshError && OUTCOME_UNKNOWN.has(err.code)) uncertain.push(rack);
      throw err;
    });
    timed?.(true);
    ready.push({ rack, previous: deps.placements.current(rack.name), started: instances });
    log.info(`v${target.spec.version} answers in ${rack.name} (${secondsSince(started)})`);
  };
  try {
    await eachRack(target.racks, target.parallel, startIn);
  } catch (err) {
    const unknown = uncertain.map((rack) => ({ rack, previous: deps.placements.current(rack.name), started: [] }));
    await undo([...unknown, ...ready.reverse()], deps, log);
    throw err;
  }
  for (const { rack, started } of ready) {
    deps.placements.set({
      environmentId: target.environmentId,
      rack: rack.name,
      releaseId: target.releaseId,
      instances: started,
    });
  }
  await deps.routingSynced().catch(() => {});
  log.info(`Traffic moved to v${target.spec.version} in ${ready.map((m) => m.rack.name).join(', ')}`);
  return ready;
}

/** Sequential: stop at the first failure. Parallel: let every rack finish, then report the first failure. */
async function eachRack(racks: Rack[], parallel: boolean, fn: (rack: Rack) => Promise<void>): Promise<void> {
  if (!parallel) {
    for (const rack of racks) await fn(rack);
    return;
  }
  const outcomes = await Promise.allSettled(racks.map(fn));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

async function undo(moves: Move[], deps: RolloutDeps, log: BuildLog): Promise<void> {
  for (const { rack, previous, started } of moves) {
    const spec = previous && deps.specOf(previous.releaseId);
    log.step(`Returning ${rack.name} to ${spec ? `v${spec.version}` : 'nothing (first release)'}`);
    if (previous) deps.placements.set(previous);
    else deps.placements.remove(rack.name);
    try {
      await rack.revert(started, spec, log);
    } catch (err) {
      log.error(`could not return ${rack.name} to the previous release: ${errorMessage(err)}`);
    }
  }
}
