import type Docker from 'dockerode';
import type pino from 'pino';
import { errorMessage } from '../errors.ts';
import type { Environment } from '../store/index.ts';

/** Rollback targets whose images are kept; older release images are removed to bound disk use. */
export const KEPT_RELEASE_IMAGES = 10;

/**
 * The images this installation builds: `wm-<installation>/<app>:<env>-build-<id>`, tagged
 * `<env>-v<version>` once a release uses them. The repository name carries the installation
 * (no LABEL build steps: each one costs a build step).
 */
export class ReleaseImages {
  private readonly repository: string;

  constructor(
    private readonly docker: Docker,
    installationId: string,
    private readonly logger: pino.Logger,
  ) {
    this.repository = `wm-${installationId}`;
  }

  buildTag(env: Environment, buildId: number): string {
    return `${this.repository}/${env.appName}:${env.name}-build-${buildId}`;
  }

  async exists(image: string): Promise<boolean> {
    return await this.docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  }

  async tagRelease(image: string, env: Environment, version: number): Promise<void> {
    const repo = image.slice(0, image.lastIndexOf(':'));
    try {
      await this.docker.getImage(image).tag({ repo, tag: `${env.name}-v${version}` });
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), image }, 'could not tag release image');
    }
  }

  /**
   * Gives an image another environment's release uses (a promotion) a tag of this environment's own,
   * so pruning or deleting the other environment never takes it away.
   */
  async adopt(image: string, env: Environment, sourceReleaseId: number): Promise<string> {
    const repo = image.slice(0, image.lastIndexOf(':'));
    const tag = `${env.name}-promoted-${sourceReleaseId}`;
    await this.docker.getImage(image).tag({ repo, tag });
    return `${repo}:${tag}`;
  }

  /** Removes this environment's images that `keep` does not name (failed builds, old releases). */
  async prune(env: Environment, keep: Set<string>): Promise<void> {
    try {
      for (const image of await this.list(`${env.appName}:*`)) {
        const own = this.ownTags(image.RepoTags, env);
        if (!own.some((tag) => keep.has(tag))) await this.removeTags(own);
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), app: env.appName }, 'could not prune old images');
    }
  }

  /** Removes every image of a deleted environment; images other environments also use only lose its tags. */
  async removeEnvironment(env: Environment): Promise<void> {
    for (const image of await this.list(`${env.appName}:*`)) await this.removeTags(this.ownTags(image.RepoTags, env));
  }

  /** Removes every image of a deleted app (once its instances are gone: Docker keeps an image a container runs). */
  async removeApp(appName: string): Promise<void> {
    const prefix = `${this.repository}/${appName}:`;
    for (const image of await this.list(`${appName}:*`))
      await this.removeTags((image.RepoTags ?? []).filter((tag) => tag.startsWith(prefix)));
  }

  /** Exactly this environment's tags: `staging` must not match `staging-2-build-4`. */
  private ownTags(tags: string[] | undefined, env: Environment): string[] {
    const prefix = `${this.repository}/${env.appName}:${env.name}-`;
    return (tags ?? []).filter(
      (t) => t.startsWith(prefix) && /^(?:build-\d+|promoted-\d+|v\d+)$/.test(t.slice(prefix.length)),
    );
  }

  /**
   * By tag, never by image id: identical builds share an id, so the same image may carry another
   * app's or another installation's tags. Docker deletes an image once its last tag is gone.
   */
  private async removeTags(tags: string[]): Promise<void> {
    for (const tag of tags)
      await this.docker
        .getImage(tag)
        .remove({ force: true })
        .catch((err) => this.logger.warn({ err: errorMessage(err), image: tag }, 'could not remove an image'));
  }

  private list(pattern: string) {
    return this.docker.listImages({ filters: { reference: [`${this.repository}/${pattern}`] } });
  }
}
