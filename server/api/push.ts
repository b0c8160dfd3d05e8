import express, { type NextFunction, type Request, type Response } from 'express';
import type pino from 'pino';
import { RESULT_MARKER } from '../../hooks/protocol.mjs';
import { type Environments, previewName } from '../environments.ts';
import { errorMessage, notFound, WidemeshError } from '../errors.ts';
import type { LogBus } from '../logs/index.ts';
import { assertAppName } from '../names.ts';
import type { Pipeline } from '../pipeline.ts';
import type { App, Environment, Store } from '../store/index.ts';
import { safeEqual } from './auth.ts';

export interface PushRoutesDeps {
  store: Store;
  pipeline: Pipeline;
  logs: LogBus;
  environments: Environments;
  hookSecret: string;
  logger: pino.Logger;
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
    const app = store.getApp(name);
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
    if (!/^[0-9a-f]{40,64}$/.test(commit))
      throw new WidemeshError('INVALID_COMMIT', 'commit must be a full hex object id');
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
    const ok = await deploy(env, commit, req, answer.say);
    if (!ok && created) {
      // the push is rejected, so the branch will not exist and nothing would ever delete its preview
      await environments.remove(env);
      answer.say(` !     Preview environment ${env.name} removed.`);
    }
    answer.end(ok);
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
    await environments.remove(env);
    answer.say(`-----> ${branch} deleted: preview environment ${env.name} removed with its instances and images`);
    answer.end(true);
  });

  async function deploy(env: Environment, commit: string, source: Request, say: (l: string) => void) {
    let stopFollowing = () => {};
    try {
      await pipeline.deployPush({
        app: env.appName,
        environment: env.name,
        commit,
        source,
        onBuild: (build) => {
          stopFollowing = logs.follow(
            build.id,
            0,
            (l) => say(l.line),
            () => {},
          );
        },
      });
      return true;
    } catch (err) {
      if (!(err instanceof WidemeshError))
        deps.logger.error({ err: errorMessage(err), app: env.appName }, 'deploy crashed');
      return false;
    } finally {
      stopFollowing();
    }
  }

  return router;
}
