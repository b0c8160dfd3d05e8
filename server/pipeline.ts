import type { Readable } from 'node:stream';
import type pino from 'pino';
import { type AppManifest, readAppManifest } from '../buildpacks/app-json.ts';
import {
  type BuildPlan,
  BuildpackError,
  buildFilesFor,
  buildpacks,
  type DetectContext,
  detect,
} from '../buildpacks/index.ts';
import { applyChanges, withAppJsonEnv } from './config-vars.ts';
import { errorMessage, notFound, WidemeshError } from './errors.ts';
import type { ImageBuilder } from './images/image-builder.ts';
import { installSecretFiles } from './images/install-secrets.ts';
import { KEPT_RELEASE_IMAGES, type ReleaseImages } from './images/release-images.ts';
import { Source } from './images/source.ts';
import type { Replaced, Rollouts } from './lifecycle/rollouts.ts';
import type { Teardown } from './lifecycle/teardown.ts';
import type { AppLocks } from './locks.ts';
import { type BuildLog, type LogBus, lineLog, type OpenBuildLog, secondsSince, teeLog } from './logs/index.ts';
import { assertWithinCeiling, type InstanceCeiling } from './racks/confinement.ts';
import type { OneOffRunner } from './racks/one-off.ts';
import { RELEASE_PROCESS, servicesOf } from './racks/rack.ts';
import type { DeployStep, DeploySteps } from './store/deploy-steps.ts';
import type { Build, DeployContext, Environment, NewRelease, Release, Store } from './store/index.ts';

export interface PipelineOptions {
  buildTimeoutMs: number;
  maxSourceBytes: number;
  maxSourceFiles: number;
  /** How users reach an environment, printed at the end of a deploy. */
  endpointUrl: (env: Environment) => string;
  /** The most app.json may ask for per instance. */
  instanceCeiling: InstanceCeiling;
}

/** The pipeline's collaborators, each as narrow as what it calls (tests pass fakes: test/unit/server/pipeline.test.ts). */
export interface PipelineDeps {
  store: Store;
  logs: LogBus;
  builder: Pick<ImageBuilder, 'build'>;
  images: Pick<ReleaseImages, 'buildTag' | 'exists' | 'tagRelease' | 'adopt' | 'prune'>;
  oneOff: Pick<OneOffRunner, 'run'>;
  rollouts: Pick<Rollouts, 'rollOut' | 'retire'>;
  teardown: Pick<Teardown, 'takeDownPlacements'>;
  locks: AppLocks;
  steps: DeploySteps;
  detectContext: () => Promise<DetectContext>;
  logger: pino.Logger;
  options: PipelineOptions;
}

interface PushRequest {
  app: string;
  environment: string;
  commit: string;
  /** The commit as a tar stream, or a function that fetches it (its progress goes to the build log). */
  source: Readable | ((log: BuildLog) => Promise<Readable>);
  /** Called synchronously once the build exists, so the caller can follow its log from line one. */
  onBuild?: (build: Build) => void;
  /** For a git push: the branch the push moves, which must end up naming the live commit. */
  branch?: BranchGuard;
}

/** A git push's branch, checked under the app's deploy lock (see git/branch-guard.ts). */
export interface BranchGuard {
  /** The branch's full ref name (refs/heads/main). */
  readonly ref: string;
  /** Throws BRANCH_MOVED when another push moved the branch since this push began. */
  assertUnmoved(): Promise<void>;
  /** Once the deploy reported its result: whether git moved the branch to the deployed commit. */
  landed(): Promise<boolean>;
}

/** How a release is made: with its release phase or not, and the build that made its image (for the timeline). */
interface ReleaseOptions {
  releasePhase: boolean;
  built?: Omit<DeployStep, 'rack'>;
}

/** The release phase output kept per release: its end, where a failure shows. */
const RELEASE_OUTPUT_LINES = 1000;

type ReleaseDraft = Omit<NewRelease, 'environmentId'>;

/**
 * A deploy, phase by phase: receive → detect → build → release → rollout.
 * Any failure leaves every rack on the release it was serving before.
 */
export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async deployPush(req: PushRequest): Promise<Release> {
    const { store, logs, locks } = this.deps;
    const env = this.environment(req.app, req.environment);
    const build = store.builds.create(env.id, req.commit);
    req.onBuild?.(build);
    // masks config values in the lines written before the lock; the deploy reads its own context under it
    const log = logs.open(build.id, store.config.get(env.id));
    const started = Date.now();
    let reported = false;
    try {
      const source = await this.receive(req, env, log);
      const waiting = () => log.step(`Waiting: another deploy of ${env.appName} is in progress`);
      return await this.whileBranchLocked(env, req.branch, waiting, async () => {
        await req.branch?.assertUnmoved();
        const { release, previous } = await locks.run(env.appName, waiting, () =>
          this.buildAndRelease(req, this.deps.store.deployContext(env), build, source, log),
        );
        const live = `v${release.version} of ${env.appName} is live at ${this.deps.options.endpointUrl(env)}`;
        log.step(`Done in ${secondsSince(started)}: ${live}`);
        log.end({ ok: true, message: `v${release.version} deployed` });
        reported = true;
        if (req.branch && !(await req.branch.landed()))
          await locks.run(env.appName, waiting, () => this.undoUnlandedPush(env, release, previous, log));
        return release;
      });
    } catch (err) {
      if (!reported) this.reportRejected(env, build, log, err);
      throw err;
    }
  }

  /**
   * A pushed branch stays locked from the check that nobody moved it until git updated it (or
   * failed to), so the next push to it sees where it points. Only the branch: the other
   * branches of the same push deploy meanwhile, and git updates all of them when the hook ends.
   */
  private async whileBranchLocked<T>(
    env: Environment,
    branch: BranchGuard | undefined,
    onWait: () => void,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!branch) return await fn();
    return await this.deps.locks.run(`${env.appName} ${branch.ref}`, onWait, fn);
  }

  /** Phases 2 to 5, under the app's deploy lock; `previous` is what served before, for an undo. */
  private async buildAndRelease(req: PushRequest, ctx: DeployContext, build: Build, source: Source, log: BuildLog) {
    const { store } = this.deps;
    const env = ctx.environment;
    try {
      const { plan, manifest } = await this.detect(source, build, log);
      assertWithinCeiling(manifest.resources, this.deps.options.instanceCeiling);
      const { config, added } = withAppJsonEnv(ctx.config, manifest.env);
      if (added.length > 0) log.info(`config vars from app.json: ${added.join(', ')}`);
      const image = await this.build(env, build, source, plan, log, ctx.config);
      if (plan.buildpack === 'python' && plan.noWebProcess)
        throw new WidemeshError('PYTHON_NO_WEB_PROCESS', `Build succeeded, but there is ${plan.noWebProcess}`);
      const built = {
        phase: 'build',
        startedAt: build.createdAt,
        finishedAt: new Date().toISOString(),
        ok: true,
      } as const;
      this.settleFormation(env, plan.processes, manifest.formation, log);
      const { healthchecks, scripts, resources } = manifest;
      const description = `Deploy ${req.commit.slice(0, 7)}`;
      const draft = {
        image,
        processes: plan.processes,
        buildId: build.id,
        config,
        manifest: { healthchecks, scripts, resources },
      };
      const release = await this.release(ctx, { ...draft, description }, log, { releasePhase: true, built });
      if (added.length > 0) store.config.replace(env.id, config);
      return { release, previous: ctx.current };
    } finally {
      await this.pruneImages(env);
    }
  }

  /**
   * Git refused the ref update of a push whose release already went live (the pusher is told
   * "rejected"): the environment goes back to the code it served before (with today's config),
   * so the branch names the live code.
   */
  private async undoUnlandedPush(env: Environment, live: Release, previous: Release | undefined, log: BuildLog) {
    // deleted meanwhile (its repository with it): nothing serves it any more
    if (this.deps.store.apps.environment(env.appName, env.name)?.id !== env.id) return;
    const reason = `git did not move the branch to ${live.description.replace(/^Deploy /, '')}; the push was rejected`;
    log.error(reason);
    const { store } = this.deps;
    store.releases.finish(live.id, 'failed', reason);
    try {
      if (previous) {
        const description = `Rollback to v${previous.version} (${reason})`;
        const ctx = store.deployContext(env);
        await this.release(ctx, { ...previous, config: ctx.config, description }, log, { releasePhase: false });
      } else await this.deps.teardown.takeDownPlacements(env);
    } finally {
      await this.pruneImages(env);
    }
    throw new WidemeshError('REF_UPDATE_FAILED', reason, 409);
  }

  /** Config vars change → a new release of the running image; the change is kept only if it rolls out. */
  async setConfig(
    appName: string,
    envName: string,
    changes: Record<string, string | null>,
    log: BuildLog,
  ): Promise<Release | undefined> {
    const { store } = this.deps;
    return await this.whileLocked(appName, envName, log, async (ctx) => {
      const { environment: env, current } = ctx;
      const config = applyChanges(ctx.config, changes);
      if (!current) {
        store.config.replace(env.id, config);
        return undefined;
      }
      const verb = Object.values(changes).every((v) => v === null) ? 'Remove' : 'Set';
      const description = `${verb} ${Object.keys(changes).join(', ')} config vars`;
      const release = await this.release(ctx, { ...current, config, description }, log, { releasePhase: true });
      store.config.replace(env.id, config);
      return release;
    });
  }

  /** A new release with the image and config of an earlier one (as Heroku does). */
  async rollback(appName: string, envName: string, version: number, log: BuildLog): Promise<Release> {
    return await this.whileLocked(appName, envName, log, async (ctx) => {
      const target = await this.rollbackTarget(ctx.environment, version);
      // as on Heroku, a rollback restores code and config without running the release phase again
      const draft = { ...target, description: `Rollback to v${version}` };
      const release = await this.release(ctx, draft, log, { releasePhase: false });
      this.deps.store.config.replace(ctx.environment.id, target.config);
      return release;
    });
  }

  /**
   * Another environment's live image, released here with this environment's own config and
   * formation: no rebuild. The release phase runs, as on Heroku.
   */
  async promote(appName: string, fromName: string, toName: string, log: BuildLog): Promise<Release> {
    const { store, images } = this.deps;
    const source = this.environment(appName, fromName);
    return await this.whileLocked(appName, toName, log, async (ctx) => {
      const env = ctx.environment;
      const from = store.releases.current(source.id);
      if (!from) throw new WidemeshError('NOTHING_TO_PROMOTE', `${fromName} of ${appName} has no live release`, 409);
      const image = await images.adopt(from.image, env, from.id);
      this.settleFormation(env, from.processes, {}, log);
      const { buildId, processes, manifest } = from;
      const draft = { buildId, processes, manifest, image, config: ctx.config };
      const description = `Promote ${fromName} v${from.version}`;
      return await this.release(ctx, { ...draft, description }, log, { releasePhase: true }).finally(() =>
        this.pruneImages(env),
      );
    });
  }

  /** Runs `fn` holding the app's deploy lock (one deploy per app at a time), with the context read under it. */
  private async whileLocked<T>(
    appName: string,
    envName: string,
    log: BuildLog,
    fn: (ctx: DeployContext) => Promise<T>,
  ) {
    const env = this.environment(appName, envName);
    return await this.deps.locks.run(
      env.appName,
      () => log.step('Waiting for the deploy in progress'),
      () => fn(this.deps.store.deployContext(env)),
    );
  }

  private environment(appName: string, envName: string): Environment {
    const env = this.deps.store.apps.environment(appName, envName);
    if (!env) throw notFound('APP_NOT_FOUND', `no app "${appName}" with an environment "${envName}"`);
    return env;
  }

  private async rollbackTarget(env: Environment, version: number): Promise<Release> {
    const target = this.deps.store.releases.get(env.id, version);
    const where = `${env.appName} (${env.name})`;
    if (!target) throw notFound('RELEASE_NOT_FOUND', `${where} has no release v${version}`);
    if (target.status !== 'succeeded') {
      const message = `v${version} never went live (${target.status}); roll back to a release that did`;
      throw new WidemeshError('RELEASE_NOT_DEPLOYABLE', message, 409);
    }
    if (!(await this.deps.images.exists(target.image))) {
      const message = `the image of v${version} was pruned (the images of the last ${KEPT_RELEASE_IMAGES} releases are kept)`;
      throw new WidemeshError('RELEASE_IMAGE_PRUNED', message, 409);
    }
    return target;
  }

  /** Phase 1: the pushed commit, read into memory (bounded) before the app's lock is taken. */
  private async receive(req: PushRequest, env: Environment, log: BuildLog): Promise<Source> {
    log.step(`Receiving ${env.appName} (${env.name}), commit ${req.commit.slice(0, 7)}`);
    const stream = typeof req.source === 'function' ? await req.source(log) : req.source;
    const { maxSourceBytes: maxBytes, maxSourceFiles: maxFiles } = this.deps.options;
    return await Source.fromTar(stream, { maxBytes, maxFiles });
  }

  /** Phase 2: which buildpack, and its plan (pure data), shown line by line; what app.json says. */
  private async detect(
    source: Source,
    build: Build,
    log: BuildLog,
  ): Promise<{ plan: BuildPlan; manifest: AppManifest }> {
    let plan: BuildPlan;
    let manifest: AppManifest;
    try {
      plan = detect(source, await this.deps.detectContext());
      manifest = readAppManifest(source);
    } catch (err) {
      if (err instanceof BuildpackError) throw new WidemeshError(err.code, `Detect failed: ${err.message}`);
      throw err;
    }
    log.step(`${buildpacks.find((b) => b.name === plan.buildpack)?.title ?? plan.buildpack} app detected`);
    for (const line of plan.summary) log.info(line);
    this.deps.store.builds.update(build.id, { buildpack: plan.buildpack });
    return { plan, manifest };
  }

  /** Services new to this environment get app.json's quantity, else Heroku's default: web 1, others 0. */
  private settleFormation(
    env: Environment,
    processes: Record<string, string>,
    initial: Record<string, number>,
    log: BuildLog,
  ) {
    const { store } = this.deps;
    const formation = store.apps.formation(env.id);
    for (const { service } of servicesOf(processes)) {
      formation[service] ??= initial[service] ?? (service === 'web' ? 1 : 0);
    }
    store.apps.setFormation(env.id, formation);
    const running = servicesOf(processes).map(({ service }) => `${service}=${formation[service]}`);
    log.info(
      `formation: ${running.join(' ')} per rack${running.some((r) => r.endsWith('=0')) ? ' (widemesh ps:scale TYPE=N)' : ''}`,
    );
  }

  /** Phase 3: the plan's Dockerfile built into an image; returns its tag. */
  private async build(
    env: Environment,
    build: Build,
    source: Source,
    plan: BuildPlan,
    log: BuildLog,
    config: Record<string, string>,
  ): Promise<string> {
    const { store, builder, images, options } = this.deps;
    const files = buildFilesFor(plan);
    Object.assign(files.files, installSecretFiles(plan, config));
    const tag = images.buildTag(env, build.id);
    log.step('Building image');
    const started = Date.now();
    try {
      await builder.build({
        context: source.context(files.files),
        dockerfilePath: files.dockerfilePath,
        tag,
        baseImages: plan.baseImages,
        timeoutMs: options.buildTimeoutMs,
        log,
      });
    } catch (err) {
      const code = err instanceof WidemeshError ? err.code : 'BUILD_FAILED';
      throw new WidemeshError(code, `Build failed: ${errorMessage(err)}`);
    }
    store.builds.update(build.id, { image: tag });
    store.builds.finish(build.id, 'succeeded');
    log.info(`image ${tag} built in ${secondsSince(started)}`);
    return tag;
  }

  /**
   * Phases 4 and 5: a numbered release, its release phase (run once, in the new image with the
   * new config, before any traffic moves), then rolled out to every rack, all or nothing.
   */
  private async release(ctx: DeployContext, draft: ReleaseDraft, log: BuildLog, opts: ReleaseOptions) {
    const { store, images, steps, rollouts } = this.deps;
    const env = ctx.environment;
    log.addSecrets(draft.config);
    const release = store.releases.create({ environmentId: env.id, ...draft });
    if (opts.built) steps.record(release.id, opts.built);
    let moved: Replaced[];
    try {
      if (opts.releasePhase) await this.releasePhase(env, release, log);
      const timeRack = (rack: string) => steps.start(release.id, 'rollout', rack);
      moved = await rollouts.rollOut(env, release, store.apps.formation(env.id), log, timeRack);
    } catch (err) {
      const message = `Release v${release.version} failed: ${errorMessage(err)}`;
      store.releases.finish(release.id, 'failed', message);
      throw new WidemeshError(err instanceof WidemeshError ? err.code : 'RELEASE_FAILED', message);
    }
    store.releases.finish(release.id, 'succeeded');
    await rollouts.retire(moved);
    await images.tagRelease(draft.image, env, release.version);
    if (opts.releasePhase) await this.afterRelease(env, release, { first: !ctx.current }, log);
    return { ...release, status: 'succeeded' } as const;
  }

  /**
   * app.json's predeploy script, then the Procfile's `release:` command; any failure stops the deploy.
   * What they print is kept with the release (releases:output), the last RELEASE_OUTPUT_LINES lines.
   */
  private async releasePhase(env: Environment, release: Release, log: BuildLog): Promise<void> {
    const steps: [string, string | undefined][] = [
      ['app.json predeploy script', release.manifest.scripts?.predeploy],
      ['release phase', release.processes[RELEASE_PROCESS]],
    ];
    const commands = steps.filter((step): step is [string, string] => Boolean(step[1]));
    if (commands.length === 0) return;
    const timed = this.deps.steps.start(release.id, 'release-phase');
    const output: string[] = [];
    const both = teeLog(
      log,
      lineLog((line) => output.push(line), release.config),
    );
    try {
      for (const [what, command] of commands) {
        both.step(`Running the ${what}: ${command}`);
        const code = await this.runOneOff(env, release, command, both);
        if (code !== 0) throw new WidemeshError('RELEASE_PHASE_FAILED', `the ${what} exited with code ${code}`);
      }
      timed(true);
    } catch (err) {
      output.push(` !     ${errorMessage(err)}`);
      timed(false);
      throw err;
    } finally {
      this.deps.store.releases.setOutput(release.id, output.slice(-RELEASE_OUTPUT_LINES));
    }
  }

  /** app.json's postdeploy scripts: the release is live already, so a failure is reported, not undone. */
  private async afterRelease(env: Environment, release: Release, { first }: { first: boolean }, log: BuildLog) {
    const steps: [string, string | undefined][] = [
      ['app.json postdeploy script', release.manifest.scripts?.postdeploy],
      ['app.json first-deploy script (scripts.postdeploy)', first ? release.manifest.scripts?.firstDeploy : undefined],
    ];
    for (const [what, command] of steps) {
      if (!command) continue;
      log.step(`Running the ${what}: ${command}`);
      const code = await this.runOneOff(env, release, command, log).catch(() => -1);
      if (code !== 0) log.error(`the ${what} exited with code ${code}; v${release.version} stays live`);
    }
  }

  private runOneOff(env: Environment, release: Release, command: string, log: BuildLog): Promise<number> {
    return this.deps.oneOff.run({ env, release, command }, (_s, line) => log.info(line));
  }

  /** Keeps the images of the last succeeded releases (rollback targets); removes the rest. */
  private async pruneImages(env: Environment): Promise<void> {
    const kept = this.deps.store.releases.liveImages(env.id, KEPT_RELEASE_IMAGES);
    await this.deps.images.prune(env, new Set(kept));
  }

  private reportRejected(env: Environment, build: Build, log: OpenBuildLog, err: unknown): void {
    const { store } = this.deps;
    const message = errorMessage(err);
    if (store.builds.get(build.id)?.status === 'building') store.builds.finish(build.id, 'failed', message);
    log.error(message);
    const current = store.releases.current(env.id);
    log.error(current ? `Push rejected. v${current.version} keeps serving.` : 'Push rejected.');
    log.end({ ok: false, message });
  }
}
