import crypto from 'node:crypto';
import type pino from 'pino';
import { endpointCandidates, endpointHost } from './endpoints.ts';
import { errorMessage, WidemeshError } from './errors.ts';
import type { ReleaseImages } from './images/release-images.ts';
import type { AppLocks } from './locks.ts';
import type { RackSet } from './racks/rack-set.ts';
import type { App, Environment, Store } from './store/index.ts';

export const PRODUCTION = 'production';
const PRODUCTION_BRANCHES = new Set(['main', 'master']);

/** Environment names end up in `APP-ENV.DOMAIN`: with an app name (≤ 30) they fit one DNS label (≤ 63). */
const ENV_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,28}[a-z0-9]$/;
const MAX_NAME = 30;
const BRANCH = /^[A-Za-z0-9._/-]{1,200}$/;
const BUILD_POLL_MS = 500;

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

export interface EnvironmentsDeps {
  store: Store;
  racks: RackSet;
  locks: AppLocks;
  images: ReleaseImages;
  logger: pino.Logger;
  /** Resolves once the edge routes by the store as it is now (see Edge.sync). */
  routingSynced: () => Promise<void>;
}

/**
 * Creating and deleting an app's environments (production comes with the app), which branch
 * deploys which environment, and previews: copies of production made for a branch or pull request.
 */
export class Environments {
  constructor(private readonly deps: EnvironmentsDeps) {}

  create(app: App, name: string, branch: string | null, preview = false): Environment {
    const { store } = this.deps;
    const taken = store.getEnvironment(app.name, name);
    if (taken) throw new WidemeshError('ENVIRONMENT_EXISTS', `${app.name} already has an environment "${name}"`, 409);
    this.assertEndpointFree(app.name, endpointHost({ appName: app.name, name }, 'x'));
    const owner = branch === null ? undefined : this.forBranch(app, branch);
    if (owner)
      throw new WidemeshError('BRANCH_TAKEN', `branch ${branch} already deploys ${app.name} (${owner.name})`, 409);
    return store.createEnvironment(app.id, name, branch, preview);
  }

  /**
   * Makes an app, unless one of its production endpoints (`APP`, `APP-production`) is already
   * another app's environment endpoint (`foo-staging` is foo's staging), as an environment is refused.
   */
  createApp(name: string): App {
    const { store } = this.deps;
    if (store.getApp(name)) throw new WidemeshError('APP_EXISTS', `an app named "${name}" already exists`, 409);
    this.assertEndpointFree(name, `${name}.x`);
    this.assertEndpointFree(name, `${name}-${PRODUCTION}.x`);
    return store.createApp(name);
  }

  /** ENDPOINT_TAKEN when another app's environment answers at `host` (under the placeholder domain x). */
  private assertEndpointFree(appName: string, host: string): void {
    const { store } = this.deps;
    const clash = endpointCandidates(host, 'x').find(
      (c) => c.app !== appName && store.getEnvironment(c.app, c.environment),
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
    const envs = this.deps.store.listEnvironments(app.id);
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
    const existing = store.getEnvironment(app.name, name);
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
    const parent = store.getEnvironment(app.name, PRODUCTION)!;
    store.replaceConfigVars(env.id, store.configVars(parent.id));
    const racks = store.environmentRacks(parent.id);
    if (racks) store.setEnvironmentRacks(env.id, racks.racks, racks.rollout);
    return { env, created: true };
  }

  /**
   * Deletes an environment: traffic stops first (its placements go with it), then its instances
   * and images. A push to it still building finishes first: its build log and image need the
   * environment until then (builds end within the build timeout).
   */
  async remove(env: Environment): Promise<void> {
    if (env.name === PRODUCTION)
      throw new WidemeshError(
        'PRODUCTION_UNDELETABLE',
        `the production environment of ${env.appName} cannot be deleted; delete the app instead`,
        409,
      );
    const building = () => this.deps.store.listBuilds(env.id).some((b) => b.status === 'building');
    for (;;) {
      while (building()) await new Promise((r) => setTimeout(r, BUILD_POLL_MS));
      // a push that started meanwhile may have taken the lock first: then wait for it again
      const removed = await this.deps.locks.run(
        env.appName,
        () => {},
        async () => {
          if (building()) return false;
          await this.removeNow(env);
          return true;
        },
      );
      if (removed) return;
    }
  }

  /** Holding the app's lock. */
  private async removeNow(env: Environment): Promise<void> {
    const { store, racks, images, logger } = this.deps;
    const running = store
      .placements(env.id)
      .map((p) => ({ rack: racks.named(env.id, p.rack), instances: p.instances }));
    store.deleteEnvironment(env.id);
    // its instances stop only once the edge no longer sends them requests (those would get 502)
    await this.deps
      .routingSynced()
      .catch((err) =>
        logger.warn({ err: errorMessage(err) }, 'the edge did not confirm the routing change; stopping anyway'),
      );
    for (const { rack, instances } of running) {
      // an instance left behind is an orphan the next reconcile removes
      await rack
        ?.stop(instances)
        .catch((err) => logger.warn({ err: errorMessage(err), rack: rack.name }, 'could not stop instances'));
    }
    await images.removeEnvironment(env);
  }
}
