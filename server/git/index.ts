import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { Git } from 'node-git-server';
import { HOOK_CONFIG_ENV } from '../../hooks/protocol.mjs';
import { isAppName } from '../names.ts';

const run = promisify(execFile);

/** A git request whose first bytes node-git-server cannot parse is otherwise never answered. */
const FIRST_EVENT_TIMEOUT_MS = 15_000;

const GIT_PATH = /^\/([^/]+)\.git\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;

export interface GitRequest {
  app: string;
  service: 'info' | 'upload-pack' | 'receive-pack' | 'head';
  wantsPush: boolean;
}

/** Parses the app and service of a smart-HTTP git URL; undefined when it is not one. */
export function parseGitUrl(url: string): GitRequest | undefined {
  const parsed = new URL(url, 'http://x');
  const m = GIT_PATH.exec(parsed.pathname);
  if (!m || !isAppName(m[1]!)) return undefined;
  const service =
    m[2] === 'info/refs'
      ? 'info'
      : m[2] === 'HEAD'
        ? 'head'
        : (m[2]!.replace(/^git-/, '') as 'upload-pack' | 'receive-pack');
  const wantsPush =
    service === 'receive-pack' || (service === 'info' && parsed.searchParams.get('service') === 'git-receive-pack');
  return { app: m[1]!, service, wantsPush };
}

/**
 * Bare repositories (APP.git) served over smart HTTP by node-git-server. Each repository's
 * pre-receive hook runs hooks/pre-receive.mjs, which sends the pushed commit to the pipeline.
 */
export class GitRepos {
  private readonly git: Git;
  private readonly waiting = new Map<http.IncomingMessage, NodeJS.Timeout>();

  constructor(
    readonly dir: string,
    private readonly hookScript: string,
    /** Where the hook reads the server's URL and per-start secret (written by writeHookConfig). */
    private readonly hookConfigFile: string,
  ) {
    this.git = new Git(dir, { autoCreate: false });
    const accept = (dup: { req: http.IncomingMessage; accept: () => void }) => {
      this.settled(dup.req);
      dup.accept();
    };
    for (const event of ['push', 'tag', 'fetch', 'info', 'head'] as const)
      this.git.on(event as 'push', accept as never);
  }

  repoPath(app: string): string {
    return path.join(this.dir, `${app}.git`);
  }

  async exists(app: string): Promise<boolean> {
    return fs.stat(path.join(this.repoPath(app), 'HEAD')).then(
      () => true,
      () => false,
    );
  }

  async create(app: string): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    if (!(await this.exists(app)))
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', this.repoPath(app)]);
    await this.installHook(app);
  }

  /** The commit a branch of the app's repository names; null when the branch does not exist. */
  async branchAt(app: string, ref: string): Promise<string | null> {
    try {
      const { stdout } = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
        cwd: this.repoPath(app),
      });
      return stdout.trim();
    } catch {
      return null;
    }
  }

  async remove(app: string): Promise<void> {
    await fs.rm(this.repoPath(app), { recursive: true, force: true });
  }

  /** The hook runs in git receive-pack, a child of the server: it finds the server through this file. */
  async writeHookConfig(config: { url: string; secret: string }): Promise<void> {
    await fs.writeFile(this.hookConfigFile, JSON.stringify(config), { mode: 0o600 });
    await fs.chmod(this.hookConfigFile, 0o600);
  }

  /** Rewritten at every start, so a moved checkout or a new Node binary is picked up. */
  async installHooks(): Promise<void> {
    const entries = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const entry of entries) {
      const app = entry.replace(/\.git$/, '');
      if (entry.endsWith('.git') && isAppName(app)) await this.installHook(app);
    }
  }

  private async installHook(app: string): Promise<void> {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const hook = path.join(this.repoPath(app), 'hooks', 'pre-receive');
    await fs.mkdir(path.dirname(hook), { recursive: true });
    const exec = `exec ${quote(process.execPath)} ${quote(this.hookScript)}`;
    await fs.writeFile(hook, `#!/bin/sh\n${HOOK_CONFIG_ENV}=${quote(this.hookConfigFile)} ${exec}\n`, { mode: 0o755 });
  }

  /** Serves one git request (already authenticated) with a bound on how long it may stay unparsed. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const timer = setTimeout(() => {
      this.waiting.delete(req);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('malformed git request\n');
      }
      req.socket.destroy();
    }, FIRST_EVENT_TIMEOUT_MS);
    this.waiting.set(req, timer);
    res.on('close', () => this.settled(req));
    this.git.handle(req, res);
  }

  private settled(req: http.IncomingMessage): void {
    clearTimeout(this.waiting.get(req));
    this.waiting.delete(req);
  }
}
