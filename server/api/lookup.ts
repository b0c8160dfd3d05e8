import type { Request } from 'express';
import { notFound } from '../errors.ts';
import { assertAppName } from '../names.ts';
import type { App, Environment, Store } from '../store/index.ts';

/** The app a route's `:app` names; 404 APP_NOT_FOUND otherwise. */
export const appOf = (store: Store, req: Request): App => appNamed(store, req.params.app);

/** The app called `name`; 404 APP_NOT_FOUND otherwise. */
export function appNamed(store: Store, name: unknown): App {
  const checked = assertAppName(name);
  const app = store.getApp(checked);
  if (!app) throw notFound('APP_NOT_FOUND', `there is no app named "${checked}"`);
  return app;
}

/** The environment `?environment=NAME` chooses (production by default) of the route's app. */
export function environmentOf(store: Store, req: Request): Environment {
  const name = typeof req.query.environment === 'string' ? req.query.environment : 'production';
  return environmentNamed(store, req.params.app, name);
}

/** The environment `name` of the app `appName`; 404 otherwise. */
export function environmentNamed(store: Store, appName: unknown, name: string): Environment {
  const app = appNamed(store, appName);
  const env = store.getEnvironment(app.name, name);
  if (!env) throw notFound('ENVIRONMENT_NOT_FOUND', `${app.name} has no environment "${name}"`);
  return env;
}
