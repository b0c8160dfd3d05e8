import type { Command } from 'commander';
import type { ConfigChanged } from '../api-types.ts';
import {
  type AppOptions,
  type Context,
  environmentOptions,
  type JsonOption,
  jsonOption,
  savedApi,
  targetOf,
} from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, show } from '../output.ts';

/** `KEY=VALUE …` → {KEY: VALUE}; the value may contain `=`. */
export function parseAssignments(args: string[]): Record<string, string> {
  const changes: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${arg}" is not KEY=VALUE`);
    changes[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return changes;
}

/** `KEY …` → {KEY: null}: what the API takes to unset. */
export const unsetting = (keys: string[]): Record<string, null> => Object.fromEntries(keys.map((k) => [k, null]));

function changedText(verb: string, keys: string[], result: ConfigChanged): string {
  return result.release
    ? `${verb} ${keys.join(', ')} and restarted: v${result.release.version}`
    : `Saved ${keys.join(', ')}; it applies from the first deploy`;
}

export function registerConfig(program: Command, ctx: Context): void {
  program.commandsGroup('Config vars:');
  jsonOption(environmentOptions(program.command('config')))
    .description('show config vars')
    .action(async (opts: AppOptions & JsonOption) => {
      const config = await savedApi(ctx).getConfig(targetOf(ctx, opts));
      show(ctx.io, opts.json, config.vars, (vars) =>
        Object.keys(vars).length
          ? Object.entries(vars)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n')
          : 'no config vars',
      );
    });

  environmentOptions(program.command('config:set'))
    .description('set config vars (restarts the app with them)')
    .argument('<KEY=VALUE...>', 'the vars to set')
    .action(async (args: string[], opts: AppOptions) => {
      const changes = parseAssignments(args);
      const result = await savedApi(ctx).changeConfig(targetOf(ctx, opts), changes);
      say(ctx.io, changedText('Set', Object.keys(changes), result));
    });

  environmentOptions(program.command('config:unset'))
    .description('remove config vars (restarts the app without them)')
    .argument('<KEY...>', 'the vars to remove')
    .action(async (keys: string[], opts: AppOptions) => {
      const result = await savedApi(ctx).changeConfig(targetOf(ctx, opts), unsetting(keys));
      say(ctx.io, changedText('Unset', keys, result));
    });
}
