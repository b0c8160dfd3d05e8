import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { baseImagesOf, type StackRecipe, stackRecipe } from '../../buildpacks/index.ts';
import { errorMessage, WidemeshError } from '../errors.ts';
import { type BuildLog, secondsSince } from '../logs/index.ts';
import { type BuildLimits, type BuildSpaces, HostBuilds } from './build-space.ts';
import { RECIPE_LABEL, recipeDigest, stackState } from './stack-images.ts';

export interface ImageBuildRequest {
  context: Readable;
  dockerfilePath: string;
  tag: string;
  baseImages: string[];
  timeoutMs: number;
  log: BuildLog;
}

/** A missing base image gets this long to be pulled before the build fails by its name. */
const PULL_TIMEOUT_MS = 20_000;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched
const ANSI_COLOUR = /\u001b\[[0-9;]*m/g;

/** Docker's classic builder prints these between steps; they mean nothing to the person pushing. */
const NOISE = /^( ---> (?!Using cache)|Removing intermediate container |Successfully built |Successfully tagged )/;

/** A step killed by SIGKILL: with a memory limit set and no timeout, the kernel's OOM killer. */
const KILLED_STEP = /returned a non-zero code: 137\b/;

/** What a failed build's message says to the person pushing: an out-of-memory kill named as such. */
export function failureMessage(failure: string, limits?: BuildLimits): string {
  if (!limits || !KILLED_STEP.test(failure)) return failure;
  return (
    `${failure}: the step was killed, most likely because the build used more than its ${limits.memoryMb} MiB ` +
    'of memory (WIDEMESH_BUILD_MEMORY_MB)'
  );
}

/** Builds images with the local Docker engine, in the build spaces given (isolated or host); layer cache kept. */
export class ImageBuilder {
  constructor(
    private readonly docker: Docker,
    /** Builds refuse to start below this much free space where Docker keeps its images. */
    private readonly minFreeBytes = 1024 ** 3,
    /** The recipe of a stack image this builder may build when it is missing. */
    private readonly recipeFor: (image: string) => StackRecipe | undefined = stackRecipe,
    private readonly spaces: BuildSpaces = new HostBuilds(),
  ) {}

  /** Stack images being built from their recipe: concurrent builds that need one wait for the same build. */
  private readonly stackBuilds = new Map<string, Promise<void>>();

  /** Builds `req.tag`; throws BUILD_FAILED with Docker's own message (or a timeout) when no image results. */
  async build(req: ImageBuildRequest): Promise<void> {
    await this.requireDiskSpace();
    for (const image of req.baseImages) await this.requireImage(image, req);
    await this.run(req.context, { t: req.tag, dockerfile: req.dockerfilePath }, req.timeoutMs, (line) => {
      if (!NOISE.test(line)) req.log.info(line);
    });
  }

  /** One Docker build in a build space of its own, followed to its end; the space is freed after. */
  private async run(
    context: Readable,
    options: Record<string, unknown>,
    timeoutMs: number,
    emit: (line: string) => void,
  ): Promise<void> {
    const space = await this.spaces.open();
    try {
      const stream = (await this.docker.buildImage(context, {
        ...options,
        ...space.options,
        rm: true,
        forcerm: true,
      })) as Readable;
      await this.follow(stream, timeoutMs, emit, space.limits);
    } finally {
      await space.close();
    }
  }

  /** A stack image with a recipe is built here when absent (or built from an older recipe), once at a time. */
  private async requireStack(recipe: StackRecipe, req: Pick<ImageBuildRequest, 'log' | 'timeoutMs'>): Promise<void> {
    const running = this.stackBuilds.get(recipe.image);
    if (running) {
      req.log.info(`waiting for the stack image ${recipe.image}, which another build is preparing`);
      return await running;
    }
    // registered before the first await, so a concurrent build finds it
    const ready = (async () => {
      const state = await stackState(this.docker, recipe);
      if (state !== 'present')
        await this.buildStack(recipe, state === 'absent' ? 'first use' : 'its recipe changed', req);
    })();
    this.stackBuilds.set(recipe.image, ready);
    try {
      await ready;
    } finally {
      this.stackBuilds.delete(recipe.image);
    }
  }

  private async buildStack(
    recipe: StackRecipe,
    why: string,
    req: Pick<ImageBuildRequest, 'log' | 'timeoutMs'>,
  ): Promise<void> {
    for (const image of baseImagesOf(recipe.dockerfile)) await this.requireImage(image, req);
    req.log.step(`Building stack image ${recipe.image} (${why})`);
    const started = Date.now();
    const context = tar.pack();
    context.entry({ name: 'Dockerfile' }, recipe.dockerfile);
    for (const [name, text] of Object.entries(recipe.files)) context.entry({ name, mode: 0o755 }, text);
    context.finalize();
    const options = { t: recipe.image, labels: { [RECIPE_LABEL]: recipeDigest(recipe) } };
    try {
      // apt's output is long: steps only, the builder's message on failure
      await this.run(context as unknown as Readable, options, req.timeoutMs, (line) => {
        if (line.startsWith('Step ')) req.log.info(line);
      });
    } catch (err) {
      throw new WidemeshError(
        'STACK_BUILD_FAILED',
        `the stack image ${recipe.image} could not be built: ${errorMessage(err)}`,
      );
    }
    req.log.info(`stack image ${recipe.image} built in ${secondsSince(started)}`);
  }

  /** Follows a build's answer to its end; throws BUILD_FAILED with Docker's own message (or a timeout). */
  private async follow(
    stream: Readable,
    timeoutMs: number,
    emit: (line: string) => void,
    limits?: BuildLimits,
  ): Promise<void> {
    const output = new BuildOutput(emit);
    stream.on('data', (chunk: Buffer) => output.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      output.failure = `the build took longer than ${Math.round(timeoutMs / 1000)}s (WIDEMESH_BUILD_TIMEOUT) and was stopped`;
      void this.stop(output).finally(() => stream.destroy());
    }, timeoutMs);
    const broken = await ended(stream).finally(() => clearTimeout(timer));
    output.flush();
    if (timedOut) await this.removeLeftovers(output);
    if (output.failure) throw new WidemeshError('BUILD_FAILED', failureMessage(output.failure.trim(), limits));
    if (broken) throw new WidemeshError('BUILD_FAILED', `the Docker build stream broke: ${errorMessage(broken)}`);
    if (!output.produced)
      throw new WidemeshError('BUILD_FAILED', 'Docker finished the build without producing an image');
  }

  /**
   * Ending the HTTP stream does not stop Docker's classic builder: the step's container keeps
   * running (a RUN step can keep a core busy for minutes). Killing it makes the builder fail the step.
   */
  private async stop(output: BuildOutput): Promise<void> {
    const running = output.containers.at(-1);
    if (!running) return;
    const container = this.docker.getContainer(running);
    await container.remove({ force: true }).catch(() => {});
    // the builder may be removing it too; its images can be removed only once it is gone
    for (
      let i = 0;
      i < 100 &&
      (await container.inspect().then(
        () => true,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
  }

  /**
   * The layers a stopped build committed are untagged images nothing refers to, which image
   * pruning (by release tag) never sees: removed, newest first. (A build that fails on its own
   * keeps them: they are the layer cache for the fixed push.)
   */
  private async removeLeftovers(output: BuildOutput): Promise<void> {
    await this.stop(output);
    for (const id of [...output.images].reverse())
      await this.docker
        .getImage(id)
        .remove()
        .catch(() => {});
  }

  private async requireDiskSpace(): Promise<void> {
    let free: number;
    try {
      const { DockerRootDir } = await this.docker.info();
      const stats = fs.statfsSync(DockerRootDir);
      free = stats.bavail * stats.bsize;
    } catch {
      return; // Docker's directory is not visible from here (a remote engine): let Docker report it
    }
    if (free < this.minFreeBytes) {
      throw new WidemeshError(
        'DISK_FULL',
        `only ${Math.round(free / 1048576)} MiB free for Docker images; free some space (docker system df shows where it went)`,
      );
    }
  }

  /** A stack image is built from its recipe; another missing base image is pulled once, with a short bound. */
  private async requireImage(image: string, req: Pick<ImageBuildRequest, 'log' | 'timeoutMs'>): Promise<void> {
    const recipe = this.recipeFor(image);
    if (recipe) return await this.requireStack(recipe, req);
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch {
      /* not present: try to pull it */
    }
    try {
      await withTimeout(this.pull(image), PULL_TIMEOUT_MS, 'timed out');
    } catch (err) {
      throw new WidemeshError(
        'BASE_IMAGE_MISSING',
        `the base image "${image}" is not present on this server and could not be pulled (${errorMessage(err).split('\n')[0]}); ` +
          'use a stack image (widemesh/stack-node:20, widemesh/stack-node:22, widemesh/stack-base:bookworm) or build that image here first',
      );
    }
  }

  private async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (event: { error?: string }) => {
          if (event.error) reject(new Error(event.error));
        },
      );
    });
  }
}

/** Resolves when the stream ends or closes: with its error, if it broke. */
function ended(stream: Readable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    stream.on('end', () => resolve(undefined));
    stream.on('close', () => resolve(undefined));
    stream.on('error', (err: Error) => resolve(err));
  });
}

/**
 * Docker's build answer: one JSON event per line, whose `stream` text arrives in chunks that
 * are not whole lines. The stream's own end carries no error when a build fails: an event's
 * `errorDetail` is the signal.
 */
class BuildOutput {
  failure?: string;
  produced = false;
  /** The classic builder's containers, one per RUN step ("Running in ID"). */
  readonly containers: string[] = [];
  /** Images this build committed itself (" ---> ID" not following "Using cache"). */
  readonly images: string[] = [];
  private events = '';
  private text = '';
  private cached = false;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    const events = (this.events + chunk.toString('utf8')).split('\n');
    this.events = events.pop() ?? '';
    for (const raw of events) if (raw.trim()) this.read(raw);
  }

  flush(): void {
    if (this.text.trim()) this.line(this.text);
    this.text = '';
  }

  private read(raw: string): void {
    let event: { stream?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } };
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    if (event.stream) {
      // the classic builder colours what a step writes to stderr (composer, pip): colour codes are noise in a log
      const lines = (this.text + event.stream.replace(ANSI_COLOUR, '')).split('\n');
      this.text = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.line(line);
    }
    if (event.aux?.ID) this.produced = true;
    // the first failure is the cause (a timeout, before the errors of the step it stopped)
    if (event.errorDetail || event.error) this.failure ??= event.errorDetail?.message ?? event.error;
  }

  private line(line: string): void {
    const container = /^ ---> Running in ([0-9a-f]{12,64})\s*$/.exec(line)?.[1];
    const image = /^ ---> ([0-9a-f]{12,64})\s*$/.exec(line)?.[1];
    if (container) this.containers.push(container);
    if (image && !this.cached) this.images.push(image);
    this.cached = line.startsWith(' ---> Using cache');
    this.emit(line);
  }
}
