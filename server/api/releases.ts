import express from 'express';
import type { ReleaseOutput, RolledBack } from '../../contract/api.ts';
import { notFound, WidemeshError } from '../errors.ts';
import { collectingLog } from '../logs/index.ts';
import type { Pipeline } from '../pipeline.ts';
import type { DeploySteps } from '../store/deploy-steps.ts';
import type { Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';
import { releaseView, timelineView } from './views.ts';

interface ReleaseRoutesDeps {
  store: Store;
  pipeline: Pipeline;
  steps: DeploySteps;
}

/** An environment's releases, rollback, and its deploy timeline. Mounted under /api. */
export function releaseRoutes({ store, pipeline, steps }: ReleaseRoutesDeps): express.Router {
  const router = express.Router();

  router.get('/apps/:app/releases', (req, res) => {
    res.json(store.releases.list(environmentOf(store, req).id).map(releaseView));
  });

  router.post('/apps/:app/rollback', async (req, res) => {
    const env = environmentOf(store, req);
    const version = Number(String(req.body?.version ?? '').replace(/^v/, ''));
    if (!Number.isInteger(version) || version < 1)
      throw new WidemeshError('INVALID_VERSION', 'send {"version": N} with the release number to roll back to');
    const log = collectingLog();
    const release = await pipeline.rollback(env.appName, env.name, version, log);
    res.json({ release: releaseView(release), log: log.lines } satisfies RolledBack);
  });

  router.get('/apps/:app/releases/:version/output', (req, res) => {
    const env = environmentOf(store, req);
    const asked = String(req.params.version);
    const release = store.releases.get(env.id, Number(asked.replace(/^v/, '')));
    if (!release) throw notFound('RELEASE_NOT_FOUND', `${env.appName} has no release ${asked.slice(0, 20)}`);
    const output = {
      version: release.version,
      status: release.status,
      lines: store.releases.output(release.id) ?? null,
    };
    res.json(output satisfies ReleaseOutput);
  });

  router.get('/apps/:app/timeline', (req, res) => {
    res.json(timelineView(store, steps, environmentOf(store, req)));
  });

  return router;
}
