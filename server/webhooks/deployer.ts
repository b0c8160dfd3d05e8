import { execFile, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type pino from 'pino';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { GitRepos } from '../git/index.ts';
import type { BuildLog } from '../logs/index.ts';
import type { Pipeline } from '../pipeline.ts';
import type { SecretBox } from '../secrets.ts';
import type { Store } from '../store/index.ts';

const run = promisify(execFile);
const FETCH_TIMEOUT_MS = 5 * 60 * 1000;

interface Job {
  app: string;
  environment: string;
  branch: string;
  commit: string;
  deliveryId: string;
  /** Where the commit is fetched from (default: the branch; a pull request's own ref for previews). */
  fetchRef?: string;
}

/**
 * Deploys commits announced by webhooks, one environment at a time and in arrival order.
 * A commit still waiting when a newer one for the same environment arrives is superseded.
 */
export class RepoDeployer {
  private readonly waiting = new Map<string, Job>();
  private readonly draining = new Set<string>();

  constructor(
    private readonly deps: { store: Store; pipeline: Pipeline; git: GitRepos; secrets: SecretBox; logger: pino.Logger },
  ) {}

  enqueue(job: Job): void {
    const key = `${job.app}/${job.environment}`;
    const older = this.waiting.get(key);
    if (older) this.deps.store.repositories.updateDelivery(older.deliveryId, `superseded by ${job.commit.slice(0, 7)}`);
    this.waiting.set(key, job);
    if (!this.draining.has(key)) void this.drain(key);
  }

  private async drain(key: string): Promise<void> {
    this.draining.add(key);
    try {
      for (let job = this.waiting.get(key); job; job = this.waiting.get(key)) {
        this.waiting.delete(key);
        await this.deploy(job);
      }
    } finally {
      this.draining.delete(key);
    }
  }

  private async deploy(job: Job): Promise<void> {
    const { store, pipeline, logger } = this.deps;
    store.repositories.updateDelivery(job.deliveryId, 'deploying');
    try {
      const release = await pipeline.deployPush({
        app: job.app,
        environment: job.environment,
        commit: job.commit,
        source: (log) => this.fetch(job, log),
        onBuild: (build) => store.repositories.updateDelivery(job.deliveryId, 'deploying', build.id),
      });
      store.repositories.updateDelivery(job.deliveryId, `succeeded: v${release.version}`);
    } catch (err) {
      store.repositories.updateDelivery(job.deliveryId, `failed: ${errorMessage(err).split('\n')[0]}`);
      if (!(err instanceof WidemeshError))
        logger.error({ err: errorMessage(err), app: job.app }, 'webhook deploy crashed');
    }
  }

  /** Fetches exactly the pushed commit into the app's repository and streams it as a tar. */
  private async fetch(job: Job, log: BuildLog): Promise<Readable> {
    const { store, git, secrets } = this.deps;
    const app = store.apps.get(job.app);
    const repository = app && store.repositories.get(app.id);
    if (!repository)
      throw new WidemeshError('REPOSITORY_NOT_CONNECTED', `${job.app} is no longer connected to a repository`);
    const cwd = git.repoPath(job.app);
    if (!(await git.exists(job.app))) await git.create(job.app);
    log.step(`Fetching ${job.commit.slice(0, 7)} (${job.branch}) from ${repository.cloneUrl}`);
    // credentials travel in the environment of git only: never in a URL, an argument or a log line
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    if (repository.sealedCredentials) {
      env.GIT_CONFIG_COUNT = '1';
      env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
      env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(secrets.unseal(repository.sealedCredentials)).toString('base64')}`;
    }
    const refspec = `+${job.fetchRef ?? `refs/heads/${job.branch}`}:refs/remotes/origin/${job.branch}`;
    try {
      await run('git', ['fetch', '--quiet', '--no-tags', repository.cloneUrl, refspec], {
        cwd,
        env,
        timeout: FETCH_TIMEOUT_MS,
      });
      await run('git', ['cat-file', '-e', `${job.commit}^{commit}`], { cwd }).catch(() =>
        // the branch moved on and dropped the commit (a force push): ask for the commit itself
        run('git', ['fetch', '--quiet', '--no-tags', repository.cloneUrl, job.commit], {
          cwd,
          env,
          timeout: FETCH_TIMEOUT_MS,
        }),
      );
    } catch (err) {
      const stderr =
        String((err as { stderr?: string }).stderr ?? '')
          .trim()
          .split('\n')
          .at(-1) ?? '';
      throw new WidemeshError(
        'FETCH_FAILED',
        `could not fetch ${job.commit.slice(0, 7)} from ${repository.cloneUrl}: ${stderr || errorMessage(err)}`,
      );
    }
    const archive = spawn('git', ['archive', '--format=tar', job.commit], { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    return archive.stdout;
  }
}
