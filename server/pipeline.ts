import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type pino from 'pino';
import { BuildpackError, buildFilesFor, buildpacks, type DetectContext, detect } from '../buildpacks/index.ts';
import type { ImageBuilder } from './build/image-builder.ts';
import { installSecretFiles } from './build/install-secrets.ts';
import { Source } from './build/source.ts';
import { errorMessage, notFound, WidemeshError } from './errors.ts';
import type { AppLocks } from './locks.ts';
import type { BuildLog, LogBus } from './logs/index.ts';
import { OUTCOME_UNKNOWN, type Rack } from './racks/rack.ts';
import type { RackSet } from './racks/rack-set.ts';
import type { Build, Environment, Placement, Release, Store } from './store/index.ts';

export interface PipelineOptions {
  installationId: string;
  buildTimeoutMs: number;
  drainMs: number;
  maxSourceBytes: number;
  /** How users reach an environment, printed at the end of a deploy. */
  endpointUrl: (env: Environment) => string;
}

export interface PipelineDeps {
  store: Store;
  logs: LogBus;
  builder: ImageBuilder;
  docker: Docker;
  racks: RackSet;
  locks: AppLocks;
  detectContext: () => Promise<DetectContext>;
  logger: pino.Logger;
  options: PipelineOptions;
}

export interface PushRequest {
  app: string;
  environment: string;
  commit: string;
  /** The commit as a tar stream, or a function that fetches it (its progress goes to the build log). */
  source: Readable | ((log: BuildLog) => Promise<Readable>);
  /** Called synchronously once the build exists, so the caller can follow its log from line one. */
  onBuild?: (build: Build) => void;
}

type ReleaseDraft = Pick<Release, 'buildId' | 'image' | 'processes' | 'config' | 'description'>;

/** Images built by one installation live under this repository prefix. */
export const imageRepository = (installationId: string) => `wm-${installationId}`;

/** Rollback targets whose images are kept; older release images are removed to bound disk use. */
export const KEPT_RELEASE_IMAGES = 10;

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/**
 * A deploy, phase by phase: receive → detect → build → release → rollout.
 * Any failure leaves every rack on the release it was serving before.
 */
export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async deployPush(req: PushRequest): Promise<Release> {
    const { store, logs, locks } = this.deps;
    const env = this.environment(req.app, req.environment);
    const build = store.createBuild(env.id, req.commit);
    req.onBuild?.(build);
    const log = logs.open(build.id, Object.values(store.configVars(env.id)));
    const started = Date.now();
    try {
      log.step(`Receiving ${env.appName} (${env.name}), commit ${req.commit.slice(0, 7)}`);
      const stream = typeof req.source === 'function' ? await req.source(log) : req.source;
      const source = await Source.fromTar(stream, this.deps.options.maxSourceBytes);
      const release = await locks.run(
        env.appName,
        () => log.step(`Waiting: another deploy of ${env.appName} is in progress`),
        async () => {
          try {
            const image = await this.build(env, build, source, log);
            return await this.release(
              env,
              {
                ...image,
                buildId: build.id,
                config: store.configVars(env.id),
                description: `Deploy ${req.commit.slice(0, 7)}`,
              },
              log,
            );
          } finally {
            await this.pruneImages(env);
          }
        },
      );
      log.step(
        `Done in ${seconds(started)}: v${release.version} of ${env.appName} is live at ${this.deps.options.endpointUrl(env)}`,
      );
      log.end({ ok: true, message: `v${release.version} deployed` });
      return release;
    } catch (err) {
      const message = errorMessage(err);
      if (store.getBuild(build.id)?.status === 'building') store.finishBuild(build.id, 'failed', message);
      log.error(message);
      const current = store.currentRelease(env.id);
      log.error(current ? `Push rejected. v${current.version} keeps serving.` : 'Push rejected.');
      log.end({ ok: false, message });
      throw err;
    }
  }

  /** Config vars change → a new release of the running image; the change is kept only if it rolls out. */
  async setConfig(
    appName: string,
    envName: string,
    changes: Record<string, string | null>,
    log: BuildLog,
  ): Promise<Release | undefined> {
    const { store, locks } = this.deps;
    const env = this.environment(appName, envName);
    return await locks.run(
      env.appName,
      () => log.step('Waiting for the deploy in progress'),
      async () => {
        const config = { ...store.configVars(env.id) };
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) delete config[key];
          else config[key] = value;
        }
        const current = store.currentRelease(env.id);
        if (!current) {
          store.replaceConfigVars(env.id, config);
          return undefined;
        }
        const keys = Object.keys(changes).join(', ');
        const verb = Object.values(changes).every((v) => v === null) ? 'Remove' : 'Set';
        const release = await this.release(
          env,
          { ...current, config, description: `${verb} ${keys} config vars` },
          log,
        );
        store.replaceConfigVars(env.id, config);
        return release;
      },
    );
  }

  /** A new release with the image and config of an earlier one (as Heroku does). */
  async rollback(appName: string, envName: string, version: number, log: BuildLog): Promise<Release> {
    const { store, locks } = this.deps;
    const env = this.environment(appName, envName);
    return await locks.run(
      env.appName,
      () => log.step('Waiting for the deploy in progress'),
      async () => {
        const target = store.getRelease(env.id, version);
        if (!target) throw notFound('RELEASE_NOT_FOUND', `${appName} (${envName}) has no release v${version}`);
        if (target.status !== 'succeeded')
          throw new WidemeshError(
            'RELEASE_NOT_DEPLOYABLE',
            `v${version} never went live (${target.status}); roll back to a release that did`,
            409,
          );
        if (
          !(await this.deps.docker
            .getImage(target.image)
            .inspect()
            .then(
              () => true,
              () => false,
            ))
        ) {
          throw new WidemeshError(
            'RELEASE_IMAGE_PRUNED',
            `the image of v${version} was pruned (the images of the last ${KEPT_RELEASE_IMAGES} releases are kept)`,
            409,
          );
        }
        const release = await this.release(
          env,
          { ...target, buildId: target.buildId, description: `Rollback to v${version}` },
          log,
        );
        store.replaceConfigVars(env.id, target.config);
        return release;
      },
    );
  }

  private environment(appName: string, envName: string): Environment {
    const env = this.deps.store.getEnvironment(appName, envName);
    if (!env) throw notFound('APP_NOT_FOUND', `no app "${appName}" with an environment "${envName}"`);
    return env;
  }

  private async build(
    env: Environment,
    build: Build,
    source: Source,
    log: BuildLog,
  ): Promise<Pick<Release, 'image' | 'processes'>> {
    const { store, builder, options } = this.deps;
    let plan;
    try {
      plan = detect(source, await this.deps.detectContext());
    } catch (err) {
      if (err instanceof BuildpackError) throw new WidemeshError(err.code, `Detect failed: ${err.message}`);
      throw err;
    }
    log.step(`${buildpacks.find((b) => b.name === plan.buildpack)?.title ?? plan.buildpack} app detected`);
    for (const line of plan.summary) log.info(line);
    store.updateBuild(build.id, { buildpack: plan.buildpack });
    const files = buildFilesFor(plan);
    Object.assign(files.files, installSecretFiles(plan, store.configVars(env.id)));
    // The repository name carries the installation (no LABEL steps: each one costs a build step)
    const tag = `${imageRepository(options.installationId)}/${env.appName}:${env.name}-build-${build.id}`;
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
    store.updateBuild(build.id, { image: tag });
    store.finishBuild(build.id, 'succeeded');
    log.info(`image ${tag} built in ${seconds(started)}`);
    return { image: tag, processes: plan.processes };
  }

  /**
   * Rolls a release out rack by rack. Each rack's traffic moves only once its new
   * instance answers; if any rack fails, every rack already moved goes back to the
   * instances it had (still running), so the previous release never stops serving.
   */
  private async release(env: Environment, draft: ReleaseDraft, log: BuildLog): Promise<Release> {
    const { store } = this.deps;
    for (const value of Object.values(draft.config)) log.addSecret(value);
    const { racks, parallel } = this.deps.racks.forEnvironment(env.id);
    const release = store.createRelease({ environmentId: env.id, ...draft });
    const spec = {
      app: env.appName,
      environment: env.name,
      version: release.version,
      image: draft.image,
      processes: draft.processes,
      config: draft.config,
    };
    const moved: { rack: Rack; previous?: Placement; placement: Placement }[] = [];
    const uncertain: Rack[] = [];
    const releaseTo = async (rack: Rack) => {
      const started = Date.now();
      log.step(`Releasing v${release.version} to ${rack.name}`);
      const instances = await rack.start(spec, log).catch((err: unknown) => {
        if (err instanceof WidemeshError && OUTCOME_UNKNOWN.has(err.code)) uncertain.push(rack);
        throw err;
      });
      const previous = store.placements(env.id).find((p) => p.rack === rack.name);
      const placement = { environmentId: env.id, rack: rack.name, releaseId: release.id, instances };
      store.setPlacement(placement);
      moved.push({ rack, previous, placement });
      log.info(`v${release.version} answers in ${rack.name} (${seconds(started)})`);
    };
    try {
      if (parallel) {
        const outcomes = await Promise.allSettled(racks.map(releaseTo));
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        for (const rack of racks) await releaseTo(rack);
      }
    } catch (err) {
      const undo = [
        ...uncertain.map((rack) => ({
          rack,
          previous: store.placements(env.id).find((p) => p.rack === rack.name),
          placement: { instances: [] as Placement['instances'] },
        })),
        ...moved.reverse(),
      ];
      for (const { rack, previous, placement } of undo) {
        const previousRelease = previous && store.getReleaseById(previous.releaseId);
        log.step(
          `Returning ${rack.name} to ${previousRelease ? `v${previousRelease.version}` : 'nothing (first release)'}`,
        );
        if (previous) store.setPlacement(previous);
        else store.removePlacement(env.id, rack.name);
        try {
          await rack.revert(
            placement.instances,
            previousRelease
              ? {
                  ...spec,
                  version: previousRelease.version,
                  image: previousRelease.image,
                  processes: previousRelease.processes,
                  config: previousRelease.config,
                }
              : undefined,
            log,
          );
        } catch (revertErr) {
          log.error(`could not return ${rack.name} to the previous release: ${errorMessage(revertErr)}`);
        }
      }
      const message = `Release v${release.version} failed: ${errorMessage(err)}`;
      store.finishRelease(release.id, 'failed', message);
      throw new WidemeshError(err instanceof WidemeshError ? err.code : 'RELEASE_FAILED', message);
    }
    store.finishRelease(release.id, 'succeeded');
    // racks the environment no longer lists stop serving it once the new release is live everywhere
    const dropped = store.placements(env.id).filter((p) => !racks.some((r) => r.name === p.rack));
    for (const placement of dropped) store.removePlacement(env.id, placement.rack);
    await this.retire([
      ...moved.map(({ rack, previous }) => ({ rack, previous })),
      ...dropped
        .map((previous) => ({ rack: this.deps.racks.named(env.id, previous.rack), previous }))
        .filter((r): r is { rack: Rack; previous: Placement } => r.rack !== undefined),
    ]);
    await this.tagRelease(draft.image, env, release.version);
    return store.getReleaseById(release.id)!;
  }

  /** Old instances get the drain time to finish requests already routed to them, then stop. */
  private async retire(replaced: { rack: Rack; previous?: Placement }[]): Promise<void> {
    const old = replaced.filter((r) => r.previous && r.previous.instances.length > 0);
    if (old.length === 0) return;
    await new Promise((r) => setTimeout(r, this.deps.options.drainMs));
    await Promise.all(old.map(({ rack, previous }) => rack.stop(previous!.instances)));
  }

  /** Removes every image of a deleted app. */
  async removeAppImages(appName: string): Promise<void> {
    const { docker, options } = this.deps;
    for (const image of await docker.listImages({
      filters: { reference: [`${imageRepository(options.installationId)}/${appName}:*`] },
    })) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => {});
    }
  }

  /** Removes this environment's images that no recent succeeded release uses (failed builds, old releases). */
  private async pruneImages(env: Environment): Promise<void> {
    const { store, docker, options, logger } = this.deps;
    const keep = new Set(
      store
        .listReleases(env.id)
        .filter((r) => r.status === 'succeeded')
        .slice(0, KEPT_RELEASE_IMAGES)
        .map((r) => r.image),
    );
    const repository = `${imageRepository(options.installationId)}/${env.appName}`;
    try {
      for (const image of await docker.listImages({ filters: { reference: [`${repository}:${env.name}-*`] } })) {
        if ((image.RepoTags ?? []).some((tag) => keep.has(tag))) continue;
        await docker
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => {});
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err), app: env.appName }, 'could not prune old images');
    }
  }

  private async tagRelease(image: string, env: Environment, version: number): Promise<void> {
    const repo = image.slice(0, image.lastIndexOf(':'));
    try {
      await this.deps.docker.getImage(image).tag({ repo, tag: `${env.name}-v${version}` });
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err), image }, 'could not tag release image');
    }
  }
}
