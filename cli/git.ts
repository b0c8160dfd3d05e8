/** The git repository the command runs in: which app it deploys to, and its `widemesh` remote. */
import { execFileSync } from 'node:child_process';
import { UsageError } from './errors.ts';

/** Runs git with these arguments; answers its trimmed output, or undefined when git fails. */
export type Git = (args: string[]) => string | undefined;

export function gitIn(cwd: string): Git {
  return (args) => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
}

export const REMOTE = 'widemesh';

/** The app the `widemesh` remote pushes to (`…/NAME.git`). */
function appFromRemote(git: Git): string | undefined {
  return git(['remote', 'get-url', REMOTE])?.match(/\/([a-z0-9-]+)\.git$/)?.[1];
}

/** -a APP, else the app of the `widemesh` git remote. */
export function resolveApp(option: string | undefined, git: Git): string {
  const name = option ?? appFromRemote(git);
  if (!name) throw new UsageError('which app? pass -a APP, or run this in a repository with a `widemesh` git remote');
  return name;
}

/**
 * Points the `widemesh` remote at the app and makes `credentialHelper` answer git's password
 * prompts for the server, so the token never lands in .git/config. False outside a repository.
 */
export function connectRemote(git: Git, serverUrl: string, app: string, credentialHelper: string): boolean {
  if (git(['rev-parse', '--git-dir']) === undefined) return false;
  const url = `${serverUrl}/${app}.git`;
  if (git(['remote', 'get-url', REMOTE]) === undefined) git(['remote', 'add', REMOTE, url]);
  else git(['remote', 'set-url', REMOTE, url]);
  git(['config', `credential.${serverUrl}.helper`, credentialHelper]);
  return true;
}
