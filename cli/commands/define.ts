/** How commands are declared: the options their scope needs, and the shape every read shares. */
import type { Command } from 'commander';
import type { Api, Target } from '../client.ts';
import { type Context, savedApi } from '../context.ts';
import { resolveApp } from '../git.ts';
import { show } from '../output.ts';

/** What a command acts on: the server, an app (-a), or one environment of an app (-a, -e). */
type Scope = 'server' | 'app' | 'environment';

export interface AppOptions {
  app?: string;
  environment?: string;
}
export interface JsonOption {
  json?: boolean;
}

/** A new command with the options of its scope. */
export function command(program: Command, name: string, scope: Scope): Command {
  const cmd = program.command(name);
  if (scope === 'server') return cmd;
  cmd.option('-a, --app <app>', 'the app (default: the one the `widemesh` git remote points at)');
  if (scope === 'environment') cmd.option('-e, --environment <environment>', 'the environment (default: production)');
  return cmd;
}

/**
 * A read: `fetch` asks the API; the answer prints as it is with --json (for scripts),
 * else as `human` renders it.
 */
export function readCommand<O extends AppOptions, D>(
  program: Command,
  ctx: Context,
  spec: { name: string; scope: Scope; description: string },
  fetch: (api: Api, opts: O) => Promise<D>,
  human: (data: D, opts: O) => string,
): Command {
  return command(program, spec.name, spec.scope)
    .description(spec.description)
    .option('--json', 'print the answer as JSON')
    .action(async (opts: O & JsonOption) => {
      const data = await fetch(savedApi(ctx), opts);
      show(ctx.io, opts.json, data, (d) => human(d, opts));
    });
}

/** The app -a names (or the git remote's). */
export const appOf = (ctx: Context, opts: AppOptions): string => resolveApp(opts.app, ctx.git);

/** The app and environment these options (or the git remote) name. */
export const targetOf = (ctx: Context, opts: AppOptions): Target => ({
  app: appOf(ctx, opts),
  environment: opts.environment,
});
