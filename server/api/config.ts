import express from 'express';
import type { ConfigChanged, ConfigVars } from '../../contract/api.ts';
import { checkedConfigChanges } from '../config-vars.ts';
import { collectingLog } from '../logs/index.ts';
import type { Pipeline } from '../pipeline.ts';
import type { Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';
import { releaseView } from './views.ts';

interface ConfigRoutesDeps {
  store: Store;
  pipeline: Pipeline;
}

/** An environment's config vars; a change is a new release (the pipeline's). Mounted under /api. */
export function configRoutes({ store, pipeline }: ConfigRoutesDeps): express.Router {
  const router = express.Router();

  router.get('/apps/:app/config', (req, res) => {
    const env = environmentOf(store, req);
    res.json({ environment: env.name, vars: store.config.get(env.id) } satisfies ConfigVars);
  });

  router.patch('/apps/:app/config', async (req, res) => {
    const env = environmentOf(store, req);
    const changes = checkedConfigChanges(req.body);
    const log = collectingLog();
    const release = await pipeline.setConfig(env.appName, env.name, changes, log);
    res.json({
      environment: env.name,
      vars: store.config.get(env.id),
      release: release ? releaseView(release) : null,
      log: log.lines,
    } satisfies ConfigChanged);
  });

  return router;
}
