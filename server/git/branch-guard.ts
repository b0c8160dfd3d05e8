import { WidemeshError } from '../errors.ts';
import type { BranchGuard } from '../pipeline.ts';
import { isAlive } from '../processes.ts';
import type { GitRepos } from './index.ts';

/** How long a receive-pack may take to update its refs after its pre-receive hook succeeded. */
const REF_UPDATE_TIMEOUT_MS = 120_000;
const POLL_MS = 50;

interface PushedRef {
  app: string;
  ref: string;
  /** The branch's value when the push began (zeros for a new branch). */
  old: string;
  commit: string;
  /** The git receive-pack running the hook: once it exits, git has updated the ref or given up. */
  receivePackPid: number;
}

const ZERO = /^0+$/;

/**
 * Keeps a pushed branch and the live release in step. Git updates the ref only after the
 * pre-receive hook (the deploy) succeeded, and that update can still fail (another push moved
 * the branch). So: refuse before building when the branch already moved, and after the release
 * is live, wait for receive-pack to finish and report whether the branch names the commit.
 * (git's reference-transaction hook is not enough: git 2.39 runs it only once the ref is locked,
 * so a "cannot lock ref" failure reports nothing.)
 */
export function pushedBranchGuard(git: Pick<GitRepos, 'branchAt'>, push: PushedRef): BranchGuard {
  const branch = push.ref.replace(/^refs\/heads\//, '');
  return {
    ref: push.ref,
    async assertUnmoved() {
      const now = await git.branchAt(push.app, push.ref);
      if ((now ?? '') === (ZERO.test(push.old) ? '' : push.old)) return;
      const message = `another push moved ${branch} while this one waited; fetch, merge or rebase, and push again`;
      throw new WidemeshError('BRANCH_MOVED', message, 409);
    },
    async landed() {
      await exited(push.receivePackPid, REF_UPDATE_TIMEOUT_MS);
      return (await git.branchAt(push.app, push.ref)) === push.commit;
    },
  };
}

/** Resolves once the process is gone (or after `timeoutMs`). */
async function exited(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, POLL_MS));
}
