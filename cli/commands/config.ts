import type { Command } from 'commander';
import type { ConfigChanged } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { type AppOptions, command, readCommand, targetOf } from './define.ts';

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

const configText = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n') || 'no config vars';

function changedText(verb: string, keys: string[], result: ConfigChanged): string {
  return result.release
    ? `${verb} ${keys.join(', ')} and restarted: v${result.release.version}`
    : `Saved ${keys.join(', ')}; it applies from the first deploy`;
}

interface ChangeSpec {
  name: string;
  description: string;
  argument: string;
  verb: string;
  changes: (args: string[]) => Record<string, string | null>;
}

/** config:set and config:unset: one PATCH with the changes, then what became of it. */
function changeCommand(program: Command, ctx: Context, spec: ChangeSpec): void {
  command(program, spec.name, 'environment')
    .description(spec.description)
    .argument(spec.argument)
    .action(async (args: string[], opts: AppOptions) => {
      const changes = spec.changes(args);
      const result = await savedApi(ctx).changeConfig(targetOf(ctx, opts), changes);
      say(ctx.io, changedText(spec.verb, Object.keys(changes), result));
    });
}

export function registerConfig(program: Command, ctx: Context): void {
  program.commandsGroup('Config vars:');
  readCommand(
    program,
    ctx,
    { name: 'config', scope: 'environment', description: 'show config vars' },
    async (api, opts) => (await api.getConfig(targetOf(ctx, opts))).vars,
    configText,
  );
  command(program, 'config:get', 'environment')
    .description('print the value of one config var (an empty line when it is not set)')
    .argument('<KEY>', 'the config var')
    .action(async (key: string, opts: AppOptions) => {
      const { vars } = await savedApi(ctx).getConfig(targetOf(ctx, opts));
      say(ctx.io, vars[key] ?? '');
    });
  changeCommand(program, ctx, {
    name: 'config:set',
    description: 'set config vars (restarts the app with them)',
    argument: '<KEY=VALUE...>',
    verb: 'Set',
    changes: parseAssignments,
  });
  changeCommand(program, ctx, {
    name: 'config:unset',
    description: 'remove config vars (restarts the app without them)',
    argument: '<KEY...>',
    verb: 'Unset',
    changes: unsetting,
  });
}
