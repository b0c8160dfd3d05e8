import express, { type Request } from 'express';
import type { EnvironmentDeleted, EnvironmentView, Promoted } from '../../contract/api.ts';
import { assertBranchName, assertEnvironmentName, type Environments, PRODUCTION } from '../environments.ts';
import { notFound, WidemeshError } from '../errors.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { collectingLog } from '../logs/index.ts';
import type { Pipeline } from '../pipeline.ts';
import type { App, Environment, Store } from '../store/index.ts';
import { appOf } from './lookup.ts';
import { releaseView } from './views.ts';

interface EnvironmentRoutesDeps {
  store: Store;
  environments: Environments;
  lifecycle: Lifecycle;
  pipeline: Pipeline;
  environmentView: (env: Environment) => EnvironmentView;
}

/** An app's environments, previews and promotion (mounted under /api, token required). */
export function environmentRoutes(deps: EnvironmentRoutesDeps): express.Router {
  const { store, environments, pipeline } = deps;
  const router = express.Router();
  const named = (app: App, name: unknown, what = 'environment') => {
    const env = store.apps.environment(app.name, assertEnvironmentName(name));
    if (!env) throw notFound('ENVIRONMENT_NOT_FOUND', `${app.name} has no ${what} "${name}"`);
    return env;
  };

  router.get('/apps/:app/environments', (req, res) => {
    res.json(store.apps.environments(appOf(store, req).id).map(deps.environmentView));
  });

  // {"name": "staging", "branch": "staging"}: the branch (default: the name; null for none) deploys it
  router.post('/apps/:app/environments', (req, res) => {
    const app = appOf(store, req);
    const name = assertEnvironmentName(req.body?.name);
    const branch = req.body?.branch === null ? null : assertBranchName(req.body?.branch ?? name);
    res.status(201).json(deps.environmentView(environments.create(app, name, branch)));
  });

  router.delete('/apps/:app/environments/:env', async (req: Request<{ app: string; env: string }>, res) => {
    const env = named(appOf(store, req), req.params.env);
    await deps.lifecycle.removeEnvironment(env);
    res.json({ deleted: env.name } satisfies EnvironmentDeleted);
  });

  router.post('/apps/:app/promote', async (req, res) => {
    const app = appOf(store, req);
    if (req.body?.from === undefined)
      throw new WidemeshError('INVALID_PROMOTION', 'send {"from": "staging", "to": "production"}');
    const from = named(app, req.body?.from, 'environment to promote from');
    const to = named(app, req.body?.to ?? PRODUCTION, 'environment to promote to');
    if (from.id === to.id)
      throw new WidemeshError(
        'INVALID_PROMOTION',
        `promote from one environment to another, not ${from.name} to itself`,
      );
    const log = collectingLog();
    const release = await pipeline.promote(app.name, from.name, to.name, log);
    res.json({ environment: to.name, release: releaseView(release), log: log.lines } satisfies Promoted);
  });

  return router;
}
