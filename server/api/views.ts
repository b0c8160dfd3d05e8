import type { EnvironmentStatus, EnvironmentView, Release as ReleaseView, Timeline } from '../../contract/api.ts';
import type { DeploySteps } from '../store/deploy-steps.ts';
import type { Environment, Release, Store } from '../store/index.ts';

/**
 * What the API shows of releases and environments: the same shape on every route, the one
 * contract/api.ts declares for the CLI and the dashboard.
 */
export const releaseView = (r: Release): ReleaseView => ({
  version: r.version,
  status: r.status,
  description: r.description,
  image: r.image,
  buildId: r.buildId,
  configKeys: Object.keys(r.config),
  error: r.error,
  createdAt: r.createdAt,
});

/**
 * One word for an environment: `new` (nothing released yet), `deploying` (a build or release in
 * progress), `failed` (its deploys failed and nothing went live), `stopped` (ps:stop: no
 * instances anywhere), `live`. A failed deploy over a live release leaves it `live`: the
 * previous release keeps serving, and `lastBuild` says the push failed.
 */
export function environmentViewer(store: Store, endpointUrl: (env: Environment) => string) {
  return (env: Environment): EnvironmentView => {
    const current = store.currentRelease(env.id);
    const placements = store.placements(env.id);
    const [lastBuild] = store.listBuilds(env.id, 1);
    const [latest] = store.listReleases(env.id, 1);
    const deploying = lastBuild?.status === 'building' || latest?.status === 'deploying';
    const failed = lastBuild?.status === 'failed' || latest?.status === 'failed';
    const running = placements.some((p) => p.instances.length > 0);
    let status: EnvironmentStatus = 'live';
    if (deploying) status = 'deploying';
    else if (!current) status = failed ? 'failed' : 'new';
    else if (!running) status = 'stopped';
    return {
      name: env.name,
      branch: env.branch,
      preview: env.preview,
      url: endpointUrl(env),
      release: current?.version ?? null,
      status,
      deployedAt: current?.createdAt ?? null,
      lastBuild: lastBuild
        ? {
            id: lastBuild.id,
            status: lastBuild.status,
            createdAt: lastBuild.createdAt,
            finishedAt: lastBuild.finishedAt,
          }
        : null,
      racks: placements.map((p) => ({
        rack: p.rack,
        release: store.getReleaseById(p.releaseId)?.version,
        instances: p.instances.length,
      })),
    };
  };
}

const TIMELINE_RELEASES = 20;

/** The deploy timeline of an environment: its last releases, newest first, each with its timed phases. */
export function timelineView(store: Store, steps: DeploySteps, env: Environment): Timeline {
  const releases = store.listReleases(env.id, TIMELINE_RELEASES);
  const stepsOf = steps.ofReleases(releases.map((r) => r.id));
  return {
    environment: env.name,
    releases: releases.map((r) => ({
      version: r.version,
      description: r.description,
      status: r.status,
      createdAt: r.createdAt,
      steps: stepsOf.get(r.id) ?? [],
    })),
  };
}
