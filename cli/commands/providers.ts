import type { Command } from 'commander';
import type { RackSpec } from '../api-types.ts';
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
import { say, show, table } from '../output.ts';

const RACK_FORMS = 'PROVIDER:cloud-run:LOCATION, PROVIDER:app-runner:REGION or local-NAME';

/** `gcp:cloud-run:europe-west1`, `aws:app-runner:us-east-1`, `local-a` → the API's rack objects. */
export function parseRack(arg: string): RackSpec {
  if (/^local-/.test(arg)) return { kind: 'local', name: arg };
  const [provider, kind, place, extra] = arg.split(':');
  if (!provider || !place || extra !== undefined) throw new UsageError(`"${arg}" is not ${RACK_FORMS}`);
  if (kind === 'cloud-run') return { kind, provider, location: place };
  if (kind === 'app-runner') return { kind, provider, region: place };
  throw new UsageError(`"${arg}" is not ${RACK_FORMS}`);
}

async function readProviderSettings(ctx: Context): Promise<unknown> {
  try {
    return JSON.parse(await ctx.io.stdin());
  } catch {
    throw new UsageError('providers:set reads the provider settings as JSON on stdin');
  }
}

function registerProviderCommands(program: Command, ctx: Context): void {
  jsonOption(program.command('providers'))
    .description('list cloud providers (never their credentials)')
    .action(async (opts: JsonOption) => {
      const list = await savedApi(ctx).listProviders();
      show(ctx.io, opts.json, list, () =>
        list.length
          ? table(list, { name: (p) => p.name, type: (p) => p.type, environments: (p) => p.environments })
          : 'no providers: the local racks are used',
      );
    });

  program
    .command('providers:set')
    .description('store a cloud provider from JSON on stdin (type gcp|aws, credentials, registry, …)')
    .argument('<name>', 'lower-case letters, digits and dashes')
    .action(async (name: string) => {
      const saved = await savedApi(ctx).saveProvider(name, await readProviderSettings(ctx));
      say(
        ctx.io,
        `Saved provider ${saved.name} (${saved.type}); its credentials are stored sealed and never shown again`,
      );
    });
}

function registerRackCommands(program: Command, ctx: Context): void {
  jsonOption(environmentOptions(program.command('racks')))
    .description('the racks the environment rolls out to')
    .action(async (opts: AppOptions & JsonOption) => {
      const result = await savedApi(ctx).getRacks(targetOf(ctx, opts));
      show(ctx.io, opts.json, result, (r) => {
        const names = r.racks.map((rack) => rack.name).join(', ');
        return `${names} (${r.rollout}${r.custom ? '' : ', server default'})`;
      });
    });

  environmentOptions(program.command('racks:set'))
    .description('set the racks the environment rolls out to (from the next release)')
    .argument('<rack...>', RACK_FORMS)
    .option('--parallel', 'roll out to every rack at once (default: one after the other)')
    .action(async (args: string[], opts: AppOptions & { parallel?: boolean }) => {
      const racks = args.map(parseRack);
      const rollout = opts.parallel ? 'parallel' : 'sequential';
      const result = await savedApi(ctx).setRacks(targetOf(ctx, opts), racks, rollout);
      const names = result.racks.map((r) => r.name).join(', ');
      say(ctx.io, `Racks of ${result.environment}: ${names} (${result.rollout}); ${result.note}`);
    });
}

export function registerProviders(program: Command, ctx: Context): void {
  program.commandsGroup('Cloud providers and racks:');
  registerProviderCommands(program, ctx);
  registerRackCommands(program, ctx);
}
