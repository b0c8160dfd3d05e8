import crypto from 'node:crypto';
import { endpointCandidates, endpointHost } from './endpoints.ts';
import { WidemeshError } from './errors.ts';
import type { App, Environment, Store } from './store/index.ts';

export const PRODUCTION = 'production';
const PRODUCTION_BRANCHES = new Set(['main', 'master']);

/** Environment names end up in `APP-ENV.DOMAIN`: with an app name (≤ 30) they fit one DNS label (≤ 63). */
const ENV_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,28}[a-z0-9]$/;
const MAX_NAME = 30;
const BRANCH = /^[A-Za-z0-9._/-]{1,200}$/;

export function assertEnvironmentName(name: unknown): string {
  if (typeof name !== 'string' || !ENV_NAME.test(name)) {
    const shown = typeof name === 'string' ? `"${name.slice(0, 64)}"` : 'a name';
    throw new WidemeshError(
      'INVALID_ENVIRONMENT_NAME',
      `${shown} is not a valid environment name: 2 to 30 characters, lower-case letters, digits and single dashes, starting with a letter and not ending with a dash`,
    );
  }
  return name;
}

export function assertBranchName(branch: unknown): string {
  if (typeof branch !== 'string' || !BRANCH.test(branch) || branch.includes('..') || branch.endsWith('/'))
    throw new WidemeshError('INVALID_BRANCH', `"${String(branch).slice(0, 64)}" is not a branch name`);
  return branch;
}

/**
 * A branch's preview name, made DNS-label safe: `Feature/Login_Page` → `feature-login-page`.
 * Long names are cut and end with a hash of the branch, so two long branches rarely share one.
 */
export function previewName(branch: string): string {
  let name = branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) name = `br-${name}`.replace(/-+$/, '');
  if (name.length <= MAX_NAME && name.length >= 2) return name;
  const hash = crypto.createHash('sha256').update(branch).digest('hex').slice(0, 6);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

interface EnvironmentsDeps {
  store: Store;
}

/**
 * Creating an app's environments (production comes with the app; deleting one is
 * lifecycle/'s), which branch deploys which environment, and previews: copies of production made
 * for a branch or pull request.
 */
export class Environments {
  constructor(private readonly deps: EnvironmentsDeps) {}

  create(app: App, name: string, branch: string | null, preview = false): Environment {
    const { store } = this.deps;
    const taken = store.apps.environment(app.name, name);
    if (taken) throw new WidemeshError('ENVIRONMENT_EXISTS', `${app.name} already has an environment "${name}"`, 409);
    this.assertEndpointFree(app.name, endpointHost({ appName: app.name, name }, 'x'));
    const owner = branch === null ? undefined : this.forBranch(app, branch);
    if (owner)
      throw new WidemeshError('BRANCH_TAKEN', `branch ${branch} already deploys ${app.name} (${owner.name})`, 409);
    return store.apps.createEnvironment(app.id, name, branch, preview);
  }

  /**
   * Makes an app, unless one of its production endpoints (`APP`, `APP-production`) is already
   * another app's environment endpoint (`foo-staging` is foo's staging), as an environment is refused.
   */
  createApp(name: string): App {
    const { store } = this.deps;
    if (store.apps.get(name)) throw new WidemeshError('APP_EXISTS', `an app named "${name}" already exists`, 409);
    this.assertEndpointFree(name, `${name}.x`);
    this.assertEndpointFree(name, `${name}-${PRODUCTION}.x`);
    return store.apps.create(name);
  }

  /** ENDPOINT_TAKEN when another app's environment answers at `host` (under the placeholder domain x). */
  private assertEndpointFree(appName: string, host: string): void {
    const { store } = this.deps;
    const clash = endpointCandidates(host, 'x').find(
      (c) => c.app !== appName && store.apps.environment(c.app, c.environment),
    );
    if (clash)
      throw new WidemeshError(
        'ENDPOINT_TAKEN',
        `${host.slice(0, -2)} is already the endpoint of ${clash.app} (${clash.environment}); choose another name`,
        409,
      );
  }

  /** The environment a pushed branch deploys: its own branch, else main/master → production. */
  forBranch(app: App, branch: string): Environment | undefined {
    const envs = this.deps.store.apps.environments(app.id);
    return (
      envs.find((e) => e.branch === branch) ??
      (PRODUCTION_BRANCHES.has(branch) ? envs.find((e) => e.name === PRODUCTION) : undefined)
    );
  }

  /**
   * The preview named `name` for `branch` (null for a pull request), made on first use as a copy of
   * production's config and racks. `created` says whether this call made it.
   */
  preview(app: App, name: string, branch: string | null): { env: Environment; created: boolean } {
    const { store } = this.deps;
    const existing = store.apps.environment(app.name, name);
    if (existing?.preview && existing.branch === branch) return { env: existing, created: false };
    if (existing) {
      const what = existing.preview ? `the preview of ${existing.branch ?? 'a pull request'}` : 'an environment';
      throw new WidemeshError(
        'PREVIEW_NAME_TAKEN',
        `the preview "${name}" for ${branch ?? 'this pull request'} would replace ${what} of ${app.name} named "${name}"; rename the branch`,
        409,
      );
    }
    const env = this.create(app, name, branch, true);
    const parent = store.apps.environment(app.name, PRODUCTION)!;
    store.config.replace(env.id, store.config.get(parent.id));
    const racks = store.racks.forEnvironment(parent.id);
    if (racks) store.racks.setForEnvironment(env.id, racks.racks, racks.rollout);
    return { env, created: true };
  }
}
