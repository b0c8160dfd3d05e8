/** A CLI context with no process, network or git: records the API requests commands make. */
import { Api, type Settings } from '../../../cli/client.ts';
import type { Context } from '../../../cli/context.ts';
import { ApiError } from '../../../cli/errors.ts';
import type { Git } from '../../../cli/git.ts';
import { main } from '../../../cli/main.ts';
import type { RunRequest } from '../../../cli/run-session.ts';

export interface Request {
  method: string;
  route: string;
  body?: unknown;
}

interface Fake {
  ctx: Context;
  requests: Request[];
  /** What `run` asked for. */
  runs: RunRequest[];
  saved: Settings[];
  stdout: () => string;
  stderr: () => string;
  /** Runs a command line; answers its exit code. */
  run(...argv: string[]): Promise<number>;
}

/** `answers` maps `METHOD /route` to what the server answers; other routes fail like a 404. */
export function fakeCli(
  answers: Record<string, unknown> = {},
  options: { stdin?: string; gitRemote?: string } = {},
): Fake {
  const requests: Request[] = [];
  const runs: RunRequest[] = [];
  const saved: Settings[] = [];
  let stdout = '';
  let stderr = '';
  const git: Git = (args) => {
    if (args.join(' ') === 'remote get-url widemesh') return options.gitRemote;
    return undefined;
  };
  const ctx: Context = {
    io: {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      stdin: async () => options.stdin ?? '',
    },
    env: {},
    settings: {
      file: '/nowhere/config.json',
      load: () => saved.at(-1) ?? { url: 'http://127.0.0.1:1', token: 'wm_test' },
      save: (s) => void saved.push(s),
      clear: () => saved.splice(0).length > 0,
    },
    git,
    connect: () =>
      new Api(async (method, route, body) => {
        requests.push({ method, route, ...(body === undefined ? {} : { body }) });
        const key = `${method} ${route}`;
        if (key in answers) return answers[key];
        throw new ApiError(`the fake server has no ${key}`, 'NOT_FOUND', 404);
      }),
    credentialHelper: '!widemesh git-credential',
    interruption: () => ({ signal: new AbortController().signal, release: () => {} }),
    openBrowser: () => false,
    runOneOff: async (_settings, _target, request) => {
      runs.push(request);
      return 0;
    },
  };
  return {
    ctx,
    requests,
    runs,
    saved,
    stdout: () => stdout,
    stderr: () => stderr,
    run: (...argv) => main(argv, ctx),
  };
}
