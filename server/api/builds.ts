import express, { type Request } from 'express';
import type { BuildLogLines, Build as BuildView } from '../../contract/api.ts';
import { notFound } from '../errors.ts';
import type { Build, Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';

/** An environment's builds and their seq-numbered logs. Mounted under /api. */
export function buildRoutes({ store }: { store: Store }): express.Router {
  const router = express.Router();

  /** The route's `:build`, of the route's environment; 404 otherwise. */
  const buildOf = (req: Request): Build => {
    const env = environmentOf(store, req);
    const found = store.getBuild(Number(req.params.build));
    if (!found || found.environmentId !== env.id)
      throw notFound('BUILD_NOT_FOUND', `${env.appName} has no build ${String(req.params.build).slice(0, 20)}`);
    return found;
  };

  router.get('/apps/:app/builds', (req, res) => {
    res.json(store.listBuilds(environmentOf(store, req).id) satisfies BuildView[]);
  });
  router.get('/apps/:app/builds/:build', (req, res) => {
    res.json(buildOf(req) satisfies BuildView);
  });
  router.get('/apps/:app/builds/:build/log', (req, res) => {
    const build = buildOf(req);
    const since = Number(req.query.since ?? 0);
    const lines = store.buildLog(build.id, Number.isInteger(since) && since > 0 ? since : 0);
    res.json({ status: build.status, lines } satisfies BuildLogLines);
  });

  return router;
}
