import crypto from 'node:crypto';
import express, { type Request } from 'express';
import type { Delivery, Repository, RepositoryConnected, RepositoryDisconnected } from '../../contract/api.ts';
import type { RateLimiter } from '../access/rate-limit.ts';
import { assertBranchName, type Environments } from '../environments.ts';
import { errorMessage, notFound, WidemeshError } from '../errors.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { assertAppName } from '../names.ts';
import type { SecretBox } from '../secrets.ts';
import type { App, Store } from '../store/index.ts';
import type { RepoDeployer } from '../webhooks/deployer.ts';
import { assertCloneUrl, type GitHost, readDelivery, type WebhookEvent } from '../webhooks/payloads.ts';
import { BusyError, UnverifiedBodies } from '../webhooks/signed-body.ts';
import { appOf } from './lookup.ts';

interface WebhookDeps {
  store: Store;
  secrets: SecretBox;
  deployer: RepoDeployer;
  publicUrl: string;
  environments: Environments;
  lifecycle: Lifecycle;
  limiter: RateLimiter;
}

const GIT_HOSTS = new Set<GitHost>(['github', 'bitbucket']);
const MAX_BODY = 25 * 1024 * 1024; // GitHub's own cap on payloads
/** Bytes of webhook bodies received but not yet verified, all requests together: two of the largest. */
const MAX_UNVERIFIED_IN_FLIGHT = 2 * MAX_BODY;

/** Routes that connect apps to repositories (token-protected, mounted under /api). */
export function repositoryRoutes({ store, secrets, publicUrl }: WebhookDeps): express.Router {
  const router = express.Router();
  const app = (req: Request) => appOf(store, req);
  const view = (appName: string, r: NonNullable<ReturnType<Store['repositories']['get']>>): Repository => ({
    host: r.gitHost,
    cloneUrl: r.cloneUrl,
    branches: r.branches,
    private: r.sealedCredentials !== null,
    webhookUrl: `${publicUrl}/webhooks/${r.gitHost}/${appName}`,
  });

  router.put('/apps/:app/repository', (req, res) => {
    const a = app(req);
    const body = req.body ?? {};
    if (!GIT_HOSTS.has(body.host))
      throw new WidemeshError('INVALID_REPOSITORY', 'host must be "github" or "bitbucket"');
    const cloneUrl = assertCloneUrl(body.cloneUrl);
    const branches: Record<string, string> = body.branches ?? { main: 'production' };
    if (typeof branches !== 'object' || Array.isArray(branches) || Object.keys(branches).length === 0) {
      throw new WidemeshError(
        'INVALID_REPOSITORY',
        'branches maps branch names to environments, e.g. {"main": "production"}',
      );
    }
    for (const [branch, env] of Object.entries(branches)) {
      if (!/^[A-Za-z0-9._/-]{1,200}$/.test(branch) || branch.includes('..'))
        throw new WidemeshError('INVALID_REPOSITORY', `"${branch.slice(0, 60)}" is not a branch name`);
      if (typeof env !== 'string' || !store.apps.environment(a.name, env))
        throw new WidemeshError('INVALID_REPOSITORY', `${a.name} has no environment "${String(env).slice(0, 60)}"`);
    }
    const { username, password } = body;
    if (
      (username === undefined) !== (password === undefined) ||
      (username !== undefined && (typeof username !== 'string' || typeof password !== 'string'))
    ) {
      throw new WidemeshError(
        'INVALID_REPOSITORY',
        'private repositories need both "username" and "password" (a read token) as strings',
      );
    }
    const secret = crypto.randomBytes(24).toString('hex');
    store.repositories.set({
      appId: a.id,
      gitHost: body.host,
      cloneUrl,
      branches,
      sealedSecret: secrets.seal(secret),
      sealedCredentials: username === undefined ? null : secrets.seal(`${username}:${password}`),
    });
    // the secret is shown this once; set it on the git host's webhook
    res.json({ ...view(a.name, store.repositories.get(a.id)!), secret } satisfies RepositoryConnected);
  });

  router.get('/apps/:app/repository', (req, res) => {
    const a = app(req);
    const repository = store.repositories.get(a.id);
    if (!repository) throw notFound('REPOSITORY_NOT_CONNECTED', `${a.name} is not connected to a repository`);
    res.json(view(a.name, repository));
  });

  router.delete('/apps/:app/repository', (req, res) => {
    const a = app(req);
    store.repositories.remove(a.id);
    res.json({ disconnected: a.name } satisfies RepositoryDisconnected);
  });

  router.get('/apps/:app/deliveries', (req, res) => {
    res.json(store.repositories.deliveries(app(req).id) satisfies Delivery[]);
  });
  return router;
}

const SIGNATURE_HEADER: Record<GitHost, string> = { github: 'x-hub-signature-256', bitbucket: 'x-hub-signature' };

/**
 * `POST /webhooks/{github,bitbucket}/:app`: authenticated by the HMAC signature over the raw
 * body (no token: the git host has none). Answers at once; the deploy runs in the background.
 * Anyone can call it, so the address's rate limit, the app, its git host and the signature
 * header are checked before any of the body is read; only a connected repository's body is read.
 * Every refusal counts against the sender's address.
 */
export function webhookRoutes(deps: WebhookDeps): express.Router {
  const { store, secrets, deployer, limiter } = deps;
  const router = express.Router();
  const pullRequest = pullRequestHandler(deps);
  const connected = (req: Request) => {
    limiter.check(req);
    const host = req.params.host as GitHost;
    if (!GIT_HOSTS.has(host))
      throw notFound('NOT_FOUND', 'webhooks live at /webhooks/github/APP and /webhooks/bitbucket/APP');
    const app = store.apps.get(assertAppName(req.params.app));
    const repository = app && store.repositories.get(app.id);
    if (!app || !repository || repository.gitHost !== host) {
      throw notFound('REPOSITORY_NOT_CONNECTED', `no app connected to a ${host} repository at this address`);
    }
    if (!/^sha256=[0-9a-f]{64}$/.test(String(req.headers[SIGNATURE_HEADER[host]])))
      throw new WidemeshError('BAD_SIGNATURE', `the ${SIGNATURE_HEADER[host]} header (sha256=HMAC) is missing`, 401);
    return { host, app, repository };
  };
  type Delivery = ReturnType<typeof connected>;
  const bodies = new UnverifiedBodies({ maxBody: MAX_BODY, maxInFlight: MAX_UNVERIFIED_IN_FLIGHT });
  const checkFirst: express.RequestHandler = (req, res, next) => {
    try {
      res.locals.delivery = connected(req);
      next();
    } catch (err) {
      // refusals spend the address's allowance; signed deliveries (the git host's own) never do
      limiter.count(req);
      res.setHeader('connection', 'close'); // the unread body is not worth receiving
      next(err);
    }
  };
  const signedBody = async (req: Request, res: express.Response, { host, repository }: Delivery) => {
    try {
      return await bodies.read(req, secrets.unseal(repository.sealedSecret), req.headers[SIGNATURE_HEADER[host]]);
    } catch (err) {
      if (err instanceof BusyError) res.setHeader('retry-after', String(err.retryAfter));
      else limiter.count(req);
      res.setHeader('connection', 'close'); // what is left of the body is not worth receiving
      throw err;
    }
  };
  router.post('/webhooks/:host/:app', checkFirst, async (req, res) => {
    const delivery = res.locals.delivery as Delivery;
    const { host, app, repository } = delivery;
    const raw = await signedBody(req, res, delivery);
    const { id, event, what } = readDelivery(host, req.headers, raw);
    const deliveryId = `${host}:${id}`;
    // a signed body seen before under another delivery id is a replay: recorded as a duplicate, never deployed
    const bodySha256 = crypto.createHash('sha256').update(raw).digest('hex');
    const record = (outcome: string, ref: string | null = null, commit: string | null = null) =>
      store.repositories.recordDelivery({
        id: deliveryId,
        appId: app.id,
        gitHost: host,
        event,
        ref,
        commit,
        outcome,
        bodySha256,
      });
    if (what.kind === 'ping') {
      record('pong');
      return void res.json({ ok: true, message: 'pong' });
    }
    if (what.kind === 'ignored') {
      record(`ignored: ${what.reason}`);
      return void res.status(202).json({ ignored: true, reason: what.reason });
    }
    if (what.kind === 'deleted') {
      const reason = `${what.ref} was deleted; nothing to deploy`;
      record(`ignored: ${reason}`, what.ref);
      return void res.status(202).json({ ignored: true, reason });
    }
    if (what.kind === 'pull-request') return void pullRequest(app, what, deliveryId, record, res);
    const environment = repository.branches[what.branch];
    if (!environment) {
      const reason = `branch ${what.branch} is not mapped to an environment`;
      if (!record(`ignored: ${reason}`, what.ref, what.commit)) return void res.json({ duplicate: true });
      return void res.status(202).json({ ignored: true, reason });
    }
    if (!record('queued', what.ref, what.commit))
      return void res.json({ duplicate: true, message: 'this delivery was received before' });
    deployer.enqueue({ app: app.name, environment, branch: what.branch, commit: what.commit, deliveryId });
    res.status(202).json({ queued: true, environment, commit: what.commit });
  });
  return router;
}

type PullRequestEvent = Extract<WebhookEvent, { kind: 'pull-request' }>;
type RecordDelivery = (outcome: string, ref?: string | null, commit?: string | null) => boolean;

/**
 * A pull request opened or updated deploys its preview `pr-N` (when the app has previews on);
 * closed, deletes it with its instances and images (in the background, like deploys).
 */
function pullRequestHandler({ store, deployer, environments, lifecycle }: WebhookDeps) {
  return (app: App, what: PullRequestEvent, deliveryId: string, record: RecordDelivery, res: express.Response) => {
    const name = `pr-${what.number}`;
    const branch = assertBranchName(what.branch);
    if (what.action === 'close') {
      const env = store.apps.environment(app.name, name);
      if (!env?.preview) {
        record(`ignored: ${app.name} has no preview ${name}`, what.fetchRef, what.commit);
        return void res.status(202).json({ ignored: true, reason: `no preview ${name}` });
      }
      if (!record('removing preview', what.fetchRef, what.commit)) return void res.json({ duplicate: true });
      lifecycle.removeEnvironment(env).then(
        () => store.repositories.updateDelivery(deliveryId, `preview ${name} removed`),
        (err) => store.repositories.updateDelivery(deliveryId, `failed: ${errorMessage(err)}`),
      );
      return void res.status(202).json({ removing: name });
    }
    if (!app.previews) {
      const reason = `previews are off for ${app.name}`;
      record(`ignored: ${reason}`, what.fetchRef, what.commit);
      return void res.status(202).json({ ignored: true, reason });
    }
    if (!record('queued', what.fetchRef, what.commit)) return void res.json({ duplicate: true });
    try {
      environments.preview(app, name, null);
    } catch (err) {
      store.repositories.updateDelivery(deliveryId, `failed: ${errorMessage(err)}`);
      throw err;
    }
    deployer.enqueue({
      app: app.name,
      environment: name,
      branch,
      commit: what.commit,
      deliveryId,
      fetchRef: what.fetchRef,
    });
    res.status(202).json({ queued: true, environment: name, commit: what.commit });
  };
}
