import type { Store } from './index.ts';

export type DeployPhase = 'build' | 'release-phase' | 'rollout';

/** One timed phase of a release; `finishedAt` and `ok` are null while it runs. */
export interface DeployStep {
  phase: DeployPhase;
  rack: string | null;
  startedAt: string;
  finishedAt: string | null;
  ok: boolean | null;
}

/** A phase being timed: call it once with the outcome. */
type StepEnd = (ok: boolean) => void;

const now = () => new Date().toISOString();

/** The deploy timeline's data: when each phase of each release started and ended, per rack for rollouts. */
export class DeploySteps {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** Starts timing a phase; the returned function records its end. */
  start(releaseId: number, phase: DeployPhase, rack: string | null = null): StepEnd {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO deploy_steps (release_id, phase, rack, started_at) VALUES (?, ?, ?, ?)')
      .run(releaseId, phase, rack, now());
    return (ok) =>
      this.db
        .prepare('UPDATE deploy_steps SET finished_at = ?, ok = ? WHERE id = ?')
        .run(now(), ok ? 1 : 0, lastInsertRowid);
  }

  /** A phase that ran before its release existed (the build). */
  record(releaseId: number, step: Omit<DeployStep, 'rack'>): void {
    const ok = step.ok === null ? null : step.ok ? 1 : 0;
    this.db
      .prepare('INSERT INTO deploy_steps (release_id, phase, started_at, finished_at, ok) VALUES (?, ?, ?, ?, ?)')
      .run(releaseId, step.phase, step.startedAt, step.finishedAt, ok);
  }

  /** Every release's steps in the order they started. */
  ofReleases(releaseIds: number[]): Map<number, DeployStep[]> {
    const steps = new Map<number, DeployStep[]>(releaseIds.map((id) => [id, []]));
    if (releaseIds.length === 0) return steps;
    const rows = this.db
      .prepare(
        `SELECT * FROM deploy_steps WHERE release_id IN (${releaseIds.map(() => '?').join(',')}) ORDER BY started_at, id`,
      )
      .all(...releaseIds) as Record<string, string | number | null>[];
    for (const r of rows) {
      steps.get(Number(r.release_id))?.push({
        phase: r.phase as DeployPhase,
        rack: r.rack as string | null,
        startedAt: String(r.started_at),
        finishedAt: r.finished_at as string | null,
        ok: r.ok === null ? null : r.ok === 1,
      });
    }
    return steps;
  }
}
