import express, { type NextFunction, type Request, type Response } from 'express';
import type pino from 'pino';
import { RESULT_MARKER } from '../../hooks/protocol.mjs';
import { safeEqual } from '../access/auth.ts';
import { type Environments, previewName } from '../environments.ts';
import { errorMessage, notFound, WidemeshError } from '../errors.ts';
import { pushedBranchGuard } from '../git/branch-guard.ts';
import type { GitRepos } from '../git/index.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import type { LogBus } from '../logs/index.ts';
import { assertAppName } from '../names.ts';
import type { BranchGuard, Pipeline } from '../pipeline.ts';
import type { App, Environment, Store } from '../store/index.ts';

interface PushRoutesDeps {
  store: Store;
  git: Pick<GitRepos, 'branchAt'>;
  pipeline: Pipeline;
  logs: LogBus;
  environments: Environments;
  lifecycle: Pick<Lifecycle, 'removeEnvironment'>;
  hookSecret: string;
  logger: pino.Logger;
}

const OBJECT_ID = /^[0-9a-f]{40,64}$/;

interface PushedCommit {
  env: Environment;
  commit: string;
  source: Request;
  branch: BranchGuard;
}

/** The deploy log streamed back to the hook, which prints each line as a `remote:` line. */
function hookAnswer(res: Response) {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  return {
    say: (line: string) => res.write(`${line}\n`),
    end: (ok: boolean) => res.end(`${RESULT_MARKER}${ok ? 'ok' : 'failed'}\n`),
  };
}

/**
 * What the pre-receive hook calls: `/internal/push` with `git archive` of a pushed commit as the
 * body, `/internal/branch-deleted` when a push deletes a branch. Authenticated by the hook secret.
 */
export function pushRoutes(deps: PushRoutesDeps): express.Router {
  const { store, pipeline, logs, environments } = deps;
  const router = express.Router();

  const fromHook = (req: Request, res: Response, next: NextFunction) => {
    if (safeEqual(req.headers.authorization ?? '', `Bearer ${deps.hookSecret}`)) return next();
    res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'bad hook secret' } });
  };
  const pushed = (req: Request) => {
    const name = assertAppName(req.query.app);
    const app = store.apps.get(name);
    if (!app) throw notFound('APP_NOT_FOUND', `there is no app named "${name}"`);
    return { app, branch: String(req.query.ref ?? '').replace(/^refs\/heads\//, '') };
  };
  /** The environment a branch deploys, or with previews on a preview made for it. */
  const target = (app: App, branch: string): { env: Environment; created: boolean } | undefined => {
    const env = environments.forBranch(app, branch);
    if (env) return { env, created: false };
    return app.previews ? environments.preview(app, previewName(branch), branch) : undefined;
  };

  router.post('/internal/push', fromHook, async (req, res) => {
    const { app, branch } = pushed(req);
    const commit = String(req.query.commit ?? '');
    const old = String(req.query.old ?? '');
    const receivePackPid = Number(req.query.receivePackPid);
    if (!OBJECT_ID.test(commit) || !OBJECT_ID.test(old))
      throw new WidemeshError('INVALID_COMMIT', 'commit and old must be full hex object ids');
    if (!Number.isInteger(receivePackPid) || receivePackPid <= 1)
      throw new WidemeshError('INVALID_PUSH', 'receivePackPid must be the pid of git receive-pack');
    const guard = pushedBranchGuard(deps.git, {
      app: app.name,
      ref: `refs/heads/${branch}`,
      old,
      commit,
      receivePackPid,
    });
    const answer = hookAnswer(res);
    let found: ReturnType<typeof target>;
    try {
      found = target(app, branch);
    } catch (err) {
      req.resume();
      answer.say(` !     ${errorMessage(err)}`);
      return answer.end(false);
    }
    if (!found) {
      req.resume();
      answer.say(
        `-----> Branch ${branch} is not mapped to an environment of ${app.name}; pushed but not deployed (push main or master to deploy production, or turn previews on)`,
      );
      return answer.end(true);
    }
    const { env, created } = found;
    if (created) answer.say(`-----> Preview environment ${env.name} created for ${branch}, with production's config`);
    const ok = await deploy({ env, commit, source: req, branch: guard }, answer);
    if (!ok && created) {
      // the push is rejected, so the branch will not exist and nothing would ever delete its preview
      await deps.lifecycle.removeEnvironment(env);
      deps.logger.info({ app: app.name, environment: env.name }, 'preview removed: its first push was rejected');
    }
  });

  router.post('/internal/branch-deleted', fromHook, async (req, res) => {
    const { app, branch } = pushed(req);
    req.resume();
    const answer = hookAnswer(res);
    const env = environments.forBranch(app, branch);
    if (!env?.preview) {
      const kept = env ? `; ${env.name} keeps serving` : '';
      answer.say(`-----> ${branch} deleted; nothing to deploy${kept}`);
      return answer.end(true);
    }
    await deps.lifecycle.removeEnvironment(env);
    answer.say(`-----> ${branch} deleted: preview environment ${env.name} removed with its instances and images`);
    answer.end(true);
  });

  /**
   * The hook gets its result as soon as the deploy's log ends: git updates the branch only after
   * the hook exits, and the pipeline keeps the branch locked until then (see git/branch-guard.ts).
   */
  async function deploy(push: PushedCommit, answer: ReturnType<typeof hookAnswer>): Promise<boolean> {
    const { env, commit, source, branch } = push;
    let stopFollowing = () => {};
    let reported: boolean | undefined;
    const report = (ok: boolean) => {
      if (reported !== undefined) return;
      reported = ok;
      answer.end(ok);
    };
    try {
      await pipeline.deployPush({
        app: env.appName,
        environment: env.name,
        commit,
        source,
        branch,
        onBuild: (build) => {
          stopFollowing = logs.follow(
            build.id,
            0,
            (l) => answer.say(l.line),
            (r) => report(r.ok),
          );
        },
      });
      report(true);
    } catch (err) {
      if (!(err instanceof WidemeshError))
        deps.logger.error({ err: errorMessage(err), app: env.appName }, 'deploy crashed');
      report(false);
    } finally {
      stopFollowing();
    }
    return reported === true;
  }

  return router;
}
