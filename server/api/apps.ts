import express from 'express';
import type { AppDeleted, AppInfo, AppSettings, AppSummary, EnvironmentView } from '../../contract/api.ts';
import type { Environments } from '../environments.ts';
import { WidemeshError } from '../errors.ts';
import type { GitRepos } from '../git/index.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { assertAppName } from '../names.ts';
import type { App, Environment, Store } from '../store/index.ts';
import { appOf } from './lookup.ts';

interface AppRoutesDeps {
  store: Store;
  git: GitRepos;
  lifecycle: Lifecycle;
  environments: Pick<Environments, 'createApp'>;
  environmentView: (env: Environment) => EnvironmentView;
}

/** Apps: list, create, show, settings, delete. Mounted under /api. */
export function appRoutes(deps: AppRoutesDeps): express.Router {
  const { store, git, lifecycle } = deps;
  const router = express.Router();
  const environments = (app: App) => store.apps.environments(app.id).map(deps.environmentView);

  router.get('/apps', (_req, res) => {
    const apps = store.apps
      .list()
      .map((a) => ({ name: a.name, createdAt: a.createdAt, environments: environments(a) }));
    res.json(apps satisfies AppSummary[]);
  });

  router.post('/apps', async (req, res) => {
    const app = deps.environments.createApp(assertAppName(req.body?.name));
    // a missing repository is made again by the first git request (see server/git/http.ts)
    await git.create(app.name);
    res.status(201).json({ name: app.name, environments: environments(app) } satisfies AppInfo);
  });

  router.get('/apps/:app', (req, res) => {
    const app = appOf(store, req);
    const { name, createdAt, previews } = app;
    res.json({ name, createdAt, previews, environments: environments(app) } satisfies AppInfo);
  });

  router.patch('/apps/:app', (req, res) => {
    const app = appOf(store, req);
    if (typeof req.body?.previews !== 'boolean')
      throw new WidemeshError('INVALID_APP_SETTINGS', 'send {"previews": true} or {"previews": false}');
    store.apps.setPreviews(app.id, req.body.previews);
    res.json({ name: app.name, previews: req.body.previews } satisfies AppSettings);
  });

  router.delete('/apps/:app', async (req, res) => {
    const app = appOf(store, req);
    await lifecycle.removeApp(app);
    res.json({ deleted: app.name } satisfies AppDeleted);
  });

  return router;
}
