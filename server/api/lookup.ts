import type { Request } from 'express';
import { notFound, WidemeshError } from '../errors.ts';
import { assertAppName } from '../names.ts';
import type { App, Environment, Store } from '../store/index.ts';

/** The app a route's `:app` names; 404 APP_NOT_FOUND otherwise. */
export const appOf = (store: Store, req: Request): App => appNamed(store, req.params.app);

/** The app called `name`; 404 APP_NOT_FOUND otherwise. */
function appNamed(store: Store, name: unknown): App {
  const checked = assertAppName(name);
  const app = store.apps.get(checked);
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
  const env = store.apps.environment(app.name, name);
  if (!env) throw notFound('ENVIRONMENT_NOT_FOUND', `${app.name} has no environment "${name}"`);
  return env;
}

/**
 * INVALID_QUERY unless every query parameter is one plain value: a repeated key or the
 * `key[]=` / `key[sub]=` forms would otherwise reach a route as a list, or not at all
 * (`?environment[]=staging` must not quietly mean production).
 */
export function assertPlainQuery(entries: Iterable<[string, unknown]>): void {
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || /[[\]]/.test(key) || seen.has(key))
      throw new WidemeshError(
        'INVALID_QUERY',
        `the query parameter "${key.slice(0, 64)}" must appear once, as key=value (no lists or brackets)`,
      );
    seen.add(key);
  }
}
