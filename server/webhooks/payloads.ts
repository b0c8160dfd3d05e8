import { WidemeshError } from '../errors.ts';

/** Where an app's repository is hosted (not a cloud provider: see providers in the glossary). */
export type GitHost = 'github' | 'bitbucket';

/** What a webhook delivery asks of us, read from the git host's documented payload. */
export type WebhookEvent =
  | { kind: 'ping' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'push'; ref: string; branch: string; commit: string }
  | { kind: 'deleted'; ref: string }
  /** A pull request opened or updated (`open`: deploy its preview) or closed (`close`: delete it). */
  | {
      kind: 'pull-request';
      action: 'open' | 'close';
      number: number;
      branch: string;
      commit: string;
      fetchRef: string;
    };

const SHA = /^[0-9a-f]{40}$/;
const ZERO = /^0{40}$/;
// Bitbucket names a pull request's commit by a short hash
const SHORT_SHA = /^[0-9a-f]{7,40}$/;
const GITHUB_PR_ACTIONS: Record<string, 'open' | 'close'> = {
  opened: 'open',
  synchronize: 'open',
  reopened: 'open',
  closed: 'close',
};
const BITBUCKET_PR_EVENTS: Record<string, 'open' | 'close'> = {
  'pullrequest:created': 'open',
  'pullrequest:updated': 'open',
  'pullrequest:fulfilled': 'close',
  'pullrequest:rejected': 'close',
};

const invalid = (message: string) => new WidemeshError('INVALID_PAYLOAD', message);

// biome-ignore lint/suspicious/noExplicitAny: a payload is untrusted JSON; each field used is checked
function githubEvent(event: string, body: any): WebhookEvent {
  if (event === 'ping') return { kind: 'ping' };
  if (event === 'pull_request') return githubPullRequest(body);
  if (event !== 'push') return { kind: 'ignored', reason: `GitHub event "${event}" is not handled` };
  if (typeof body?.ref !== 'string') throw invalid('push payload without "ref"');
  if (body.deleted === true || ZERO.test(String(body.after))) return { kind: 'deleted', ref: body.ref };
  if (!SHA.test(String(body.after))) throw invalid('push payload without a commit in "after"');
  if (!body.ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${body.ref} is not a branch` };
  return { kind: 'push', ref: body.ref, branch: body.ref.slice('refs/heads/'.length), commit: body.after };
}

// biome-ignore lint/suspicious/noExplicitAny: a payload is untrusted JSON; each field used is checked
function bitbucketEvent(event: string, body: any): WebhookEvent {
  if (event === 'diagnostics:ping') return { kind: 'ping' };
  if (BITBUCKET_PR_EVENTS[event]) return bitbucketPullRequest(BITBUCKET_PR_EVENTS[event], body);
  if (event !== 'repo:push') return { kind: 'ignored', reason: `Bitbucket event "${event}" is not handled` };
  const changes = body?.push?.changes;
  if (!Array.isArray(changes) || changes.length === 0) throw invalid('repo:push payload without push.changes');
  // the last change of a branch is the state it ended in
  const change = changes.at(-1);
  if (change?.new === null || change?.closed === true)
    return { kind: 'deleted', ref: `refs/heads/${change?.old?.name ?? '?'}` };
  const { type, name, target } = change?.new ?? {};
  if (type !== 'branch')
    return { kind: 'ignored', reason: `${type ?? 'unknown'} ${name ?? ''} is not a branch`.trim() };
  if (typeof name !== 'string' || !SHA.test(String(target?.hash)))
    throw invalid('repo:push change without new.name and new.target.hash');
  return { kind: 'push', ref: `refs/heads/${name}`, branch: name, commit: target.hash };
}

// biome-ignore lint/suspicious/noExplicitAny: a payload is untrusted JSON; each field used is checked
function githubPullRequest(body: any): WebhookEvent {
  const action = GITHUB_PR_ACTIONS[String(body?.action)];
  if (!action)
    return { kind: 'ignored', reason: `pull request action "${String(body?.action).slice(0, 40)}" is not handled` };
  const { number, pull_request: pr } = body;
  if (!Number.isInteger(number) || typeof pr?.head?.ref !== 'string' || !SHA.test(String(pr?.head?.sha)))
    throw invalid('pull_request payload without number, pull_request.head.ref and pull_request.head.sha');
  // refs/pull/N/head holds the head commit even when it lives in a fork
  return {
    kind: 'pull-request',
    action,
    number,
    branch: pr.head.ref,
    commit: pr.head.sha,
    fetchRef: `refs/pull/${number}/head`,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a payload is untrusted JSON; each field used is checked
function bitbucketPullRequest(action: 'open' | 'close', body: any): WebhookEvent {
  const pr = body?.pullrequest;
  const branch = pr?.source?.branch?.name;
  if (!Number.isInteger(pr?.id) || typeof branch !== 'string' || !SHORT_SHA.test(String(pr?.source?.commit?.hash)))
    throw invalid('pullrequest payload without pullrequest.id, source.branch.name and source.commit.hash');
  const commit = String(pr.source.commit.hash);
  return { kind: 'pull-request', action, number: pr.id, branch, commit, fetchRef: `refs/heads/${branch}` };
}

/** The delivery id and what the event means; throws INVALID_PAYLOAD for malformed bodies. */
export function readDelivery(
  host: GitHost,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
): { id: string; event: string; what: WebhookEvent } {
  const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const id = host === 'github' ? header('x-github-delivery') : header('x-request-uuid');
  const event = host === 'github' ? header('x-github-event') : header('x-event-key');
  if (!id || !event)
    throw invalid(
      `missing ${host === 'github' ? 'X-GitHub-Delivery or X-GitHub-Event' : 'X-Request-UUID or X-Event-Key'} header`,
    );
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new WidemeshError('INVALID_JSON', 'the webhook body is not valid JSON');
  }
  return { id, event, what: host === 'github' ? githubEvent(event, body) : bitbucketEvent(event, body) };
}

/** http(s) or ssh remotes only: never a local path, file:// or a git transport helper; credentials go separately. */
export function assertCloneUrl(url: unknown): string {
  if (typeof url !== 'string' || url.length > 2000)
    throw new WidemeshError('INVALID_CLONE_URL', 'cloneUrl must be a repository URL');
  if (/^git@[A-Za-z0-9.-]+:[A-Za-z0-9._/-]+$/.test(url)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WidemeshError('INVALID_CLONE_URL', 'cloneUrl must be an https://, http:// or ssh:// URL');
  }
  if (!['https:', 'http:', 'ssh:'].includes(parsed.protocol))
    throw new WidemeshError(
      'INVALID_CLONE_URL',
      'cloneUrl must be an https://, http:// or ssh:// URL (local paths and file:// are refused)',
    );
  if (parsed.password || (parsed.username && parsed.protocol !== 'ssh:'))
    throw new WidemeshError('INVALID_CLONE_URL', 'put credentials in "username"/"password", not in cloneUrl');
  return url;
}
