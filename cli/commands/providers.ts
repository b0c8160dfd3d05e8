import type { Command } from 'commander';
import type { Provider, RackSpec, Racks } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, table } from '../output.ts';
import { type AppOptions, command, readCommand, targetOf } from './define.ts';

const RACK_FORMS =
  'PROVIDER:swarm, PROVIDER:cloud-run:LOCATION, PROVIDER:ecs-express:REGION, PROVIDER:app-runner:REGION or local-NAME';

/** `eu:swarm`, `gcp:cloud-run:europe-west1`, `aws:ecs-express:us-east-1`, `local-a` → the API's rack objects. */
export function parseRack(arg: string): RackSpec {
  if (/^local-/.test(arg)) return { kind: 'local', name: arg };
  const [provider, kind, place, extra] = arg.split(':');
  if (provider && kind === 'swarm' && place === undefined) return { kind, provider };
  if (!provider || !place || extra !== undefined) throw new UsageError(`"${arg}" is not ${RACK_FORMS}`);
  if (kind === 'cloud-run') return { kind, provider, location: place };
  if (kind === 'app-runner' || kind === 'ecs-express') return { kind, provider, region: place };
  throw new UsageError(`"${arg}" is not ${RACK_FORMS}`);
}

async function readProviderSettings(ctx: Context): Promise<unknown> {
  try {
    return JSON.parse(await ctx.io.stdin());
  } catch {
    throw new UsageError('providers:set reads the provider settings as JSON on stdin');
  }
}

const providersTable = (list: Provider[]): string =>
  list.length
    ? table(list, { name: (p) => p.name, type: (p) => p.type, environments: (p) => p.environments })
    : 'no providers: the local racks are used';

const racksText = (r: Racks): string =>
  `${r.racks.map((rack) => rack.name).join(', ')} (${r.rollout}${r.custom ? '' : ', server default'})\n` +
  `local instances' disk: ${r.instanceDisk}`;

function registerProviderCommands(program: Command, ctx: Context): void {
  readCommand(
    program,
    ctx,
    { name: 'providers', scope: 'server', description: 'list cloud providers (never their credentials)' },
    (api) => api.listProviders(),
    providersTable,
  );

  command(program, 'providers:set', 'server')
    .description('store a provider from JSON on stdin (type swarm|gcp|aws, credentials, registry, …)')
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
  readCommand(
    program,
    ctx,
    { name: 'racks', scope: 'environment', description: 'the racks the environment rolls out to' },
    (api, opts) => api.getRacks(targetOf(ctx, opts)),
    racksText,
  );

  command(program, 'racks:set', 'environment')
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
