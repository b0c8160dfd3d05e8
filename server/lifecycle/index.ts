import type pino from 'pino';
import { MAX_QUANTITY } from '../../buildpacks/app-json.ts';
import { PRODUCTION } from '../environments.ts';
import { WidemeshError } from '../errors.ts';
import type { GitRepos } from '../git/index.ts';
import type { ReleaseImages } from '../images/release-images.ts';
import type { AppLocks } from '../locks.ts';
import type { BuildLog } from '../logs/index.ts';
import type { OneOffRunner, OutputStream } from '../racks/one-off.ts';
import { servicesOf } from '../racks/rack.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { App, Environment, Store } from '../store/index.ts';
import type { Rollouts } from './rollouts.ts';
import type { Teardown } from './teardown.ts';

export interface LifecycleDeps {
  store: Store;
  locks: AppLocks;
  racks: RackSet;
  rollouts: Rollouts;
  teardown: Teardown;
  oneOff: OneOffRunner;
  images: ReleaseImages;
  git: GitRepos;
  logger: pino.Logger;
}

/** Where a one-off process's output goes: `started` once it has a release to run, then its lines. */
interface OneOffOutput {
  started(): void;
  line(stream: OutputStream, line: string): void;
}

const BUILD_POLL_MS = 500;

/**
 * Every operation that changes what runs, besides releasing (server/pipeline.ts): removing an
 * app or an environment, restart, scale, stop/start and one-off processes. Each runs under the
 * app's deploy lock, and whatever stops serving for good goes through the one teardown step.
 */
export class Lifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /** Deletes an app: its environments stop serving (teardown), then its repository and images go. */
  async removeApp(app: App): Promise<void> {
    const { store, teardown, git, images } = this.deps;
    const environments = () => store.apps.environments(app.id);
    await this.whenNoBuildRuns(app.name, environments, async () => {
      await teardown.takeDown(environments(), () => store.apps.delete(app.id));
      await git.remove(app.name);
      // only now: an image still used by an instance cannot be removed
      await images.removeApp(app.name);
    });
  }

  /** Deletes an environment (not production: that goes with its app), its instances and its images. */
  async removeEnvironment(env: Environment): Promise<void> {
    if (env.name === PRODUCTION)
      throw new WidemeshError(
        'PRODUCTION_UNDELETABLE',
        `the production environment of ${env.appName} cannot be deleted; delete the app instead`,
        409,
      );
    const { store, teardown, images } = this.deps;
    await this.whenNoBuildRuns(
      env.appName,
      () => [env],
      async () => {
        await teardown.takeDown([env], () => store.apps.deleteEnvironment(env.id));
        await images.removeEnvironment(env);
      },
    );
  }

  /** ps:restart: the instances of `service` (every service when undefined) restart in place. */
  async restart(env: Environment, service: string | undefined): Promise<number> {
    const { store, racks } = this.deps;
    return await this.whileLocked(env, undefined, async () => {
      let restarted = 0;
      for (const placement of store.placements.of(env.id)) {
        const instances = placement.instances.filter((i) => !service || i.service === service);
        await racks.named(env.id, placement.rack)?.restart(instances);
        restarted += instances.length;
      }
      if (service && restarted === 0)
        throw new WidemeshError('UNKNOWN_PROCESS_TYPE', `no ${service} instance runs`, 404);
      return restarted;
    });
  }

  /**
   * ps:scale: the current release rolled out again at the new formation (no new release, as on
   * Heroku); the formation is kept only if every rack reaches it.
   */
  async scale(env: Environment, changes: Record<string, number>, log: BuildLog): Promise<Record<string, number>> {
    const { store, rollouts } = this.deps;
    return await this.whileLocked(env, log, async () => {
      const current = store.releases.current(env.id);
      const known = current ? servicesOf(current.processes).map((s) => s.service) : undefined;
      assertScale(changes, known);
      const formation = { ...store.apps.formation(env.id), ...changes };
      if (current) await rollouts.retire(await rollouts.rollOut(env, current, formation, log));
      store.apps.setFormation(env.id, formation);
      return formation;
    });
  }

  /**
   * ps:stop stops every instance (the formation is kept, and the endpoint answers 503);
   * ps:start brings the formation back. Both keep the current release.
   */
  async stopOrStart(env: Environment, action: 'stop' | 'start', log: BuildLog): Promise<Record<string, number>> {
    const { store, rollouts } = this.deps;
    return await this.whileLocked(env, log, async () => {
      const current = store.releases.current(env.id);
      if (!current) throw new WidemeshError('NOT_DEPLOYED', `${env.appName} (${env.name}) has no release yet`, 409);
      const kept = store.apps.formation(env.id);
      const formation = action === 'stop' ? Object.fromEntries(Object.keys(kept).map((s) => [s, 0])) : kept;
      await rollouts.retire(await rollouts.rollOut(env, current, formation, log));
      return formation;
    });
  }

  /**
   * `run`: a one-off process of the release live once any deploy in progress ends (it is chosen
   * under the lock). It runs outside the lock: a long command never holds deploys back.
   * `started` comes before the wait, so the client hears at once that the command was accepted.
   */
  async run(env: Environment, command: string, output: OneOffOutput): Promise<number> {
    const { store, oneOff } = this.deps;
    const live = () => {
      const release = store.releases.current(env.id);
      if (!release) throw new WidemeshError('NOT_DEPLOYED', `${env.appName} (${env.name}) has no release to run`, 409);
      return release;
    };
    live();
    output.started();
    const release = await this.whileLocked(env, undefined, async () => live());
    return await oneOff.run({ env, release, command }, (stream, line) => output.line(stream, line));
  }

  /** Runs `fn` holding the app's deploy lock (one deploy per app at a time); `log` hears about a wait. */
  private async whileLocked<T>(env: Environment, log: BuildLog | undefined, fn: () => Promise<T>): Promise<T> {
    return await this.deps.locks.run(env.appName, () => log?.step('Waiting for the deploy in progress'), fn);
  }

  /**
   * Runs `fn` under the app's lock once no build of `environments` is in progress: a push still
   * building finishes first, since its build log and image need the environment until then
   * (builds end within the build timeout).
   */
  private async whenNoBuildRuns(
    appName: string,
    environments: () => Environment[],
    fn: () => Promise<void>,
  ): Promise<void> {
    const building = () =>
      environments().some((env) => this.deps.store.builds.list(env.id).some((b) => b.status === 'building'));
    for (;;) {
      while (building()) await new Promise((r) => setTimeout(r, BUILD_POLL_MS));
      // a push that started meanwhile may have taken the lock first: then wait for it again
      const done = await this.deps.locks.run(
        appName,
        () => {},
        async () => {
          if (building()) return false;
          await fn();
          return true;
        },
      );
      if (done) return;
    }
  }
}

function assertScale(changes: Record<string, number>, known: string[] | undefined): void {
  for (const [service, quantity] of Object.entries(changes)) {
    if (known && !known.includes(service)) {
      const message = `there is no ${service} process type (the current release has: ${known.join(', ')})`;
      throw new WidemeshError('UNKNOWN_PROCESS_TYPE', message, 404);
    }
    if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY) {
      const message = `${service}=${quantity}: a scale is a whole number from 0 to ${MAX_QUANTITY} per rack`;
      throw new WidemeshError('INVALID_SCALE', message);
    }
  }
}
