import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestServer } from './server.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/apps');

const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Widemesh Test',
  GIT_AUTHOR_EMAIL: 'test@widemesh.invalid',
  GIT_COMMITTER_NAME: 'Widemesh Test',
  GIT_COMMITTER_EMAIL: 'test@widemesh.invalid',
};

/** A work tree with the fixture app committed on `main`. */
export function appRepo(fixture: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `widemesh-app-${fixture}-`));
  fs.cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env: gitEnv });
  commitAll(dir, 'initial');
  return dir;
}

export function commitAll(dir: string, message: string): void {
  execFileSync('git', ['add', '-A'], { cwd: dir, env: gitEnv });
  execFileSync('git', ['commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env: gitEnv });
}

export function remoteUrl(server: TestServer, app: string, token: string | null = server.token): string {
  return token === null
    ? `${server.apiUrl}/${app}.git`
    : `http://widemesh:${token}@127.0.0.1:${server.apiPort}/${app}.git`;
}

export interface PushResult {
  code: number;
  output: string;
}

/** A real `git push`; the output holds the `remote:` lines the pusher sees. */
export function push(dir: string, url: string, ...refspecs: string[]): Promise<PushResult> {
  return new Promise((resolve) => {
    const child = spawn('git', ['push', url, ...(refspecs.length > 0 ? refspecs : ['main'])], {
      cwd: dir,
      env: gitEnv,
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
