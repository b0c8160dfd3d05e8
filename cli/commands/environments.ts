import type { Command } from 'commander';
import type { EnvironmentView } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, table } from '../output.ts';
import { type AppOptions, appOf, command, readCommand } from './define.ts';

const environmentsTable = (environments: EnvironmentView[]): string =>
  table(environments, {
    name: (e) => (e.preview ? `${e.name} (preview)` : e.name),
    branch: (e) => e.branch ?? '',
    release: (e) => (e.release === null ? '' : `v${e.release}`),
    url: (e) => e.url,
  });

export function registerEnvironments(program: Command, ctx: Context): void {
  program.commandsGroup('Environments:');
  readCommand(
    program,
    ctx,
    { name: 'envs', scope: 'app', description: "list the app's environments (production, staging, previews)" },
    (api, opts) => api.listEnvironments(appOf(ctx, opts)),
    environmentsTable,
  );

  command(program, 'envs:create', 'app')
    .description('create an environment with its own config, releases and endpoint; pushing its branch deploys it')
    .argument('<name>', 'e.g. staging')
    .option('--branch <branch>', 'the branch that deploys it (default: its name)')
    .option('--no-branch', 'no branch deploys it (promote into it instead)')
    .action(async (name: string, opts: AppOptions & { branch?: string | false }) => {
      const branch = opts.branch === false ? null : opts.branch;
      const created = await savedApi(ctx).createEnvironment(appOf(ctx, opts), name, branch);
      say(
        ctx.io,
        `Created ${created.name}${created.branch ? ` (deployed by pushing ${created.branch})` : ''}: ${created.url}`,
      );
    });

  command(program, 'envs:destroy', 'app')
    .description('delete an environment with its instances and images')
    .argument('<name>', 'the environment')
    .option('--confirm <name>', 'the environment name again: deleting cannot be undone')
    .action(async (name: string, opts: AppOptions & { confirm?: string }) => {
      if (opts.confirm !== name)
        throw new UsageError(`this deletes ${name} and stops it: confirm with --confirm ${name}`);
      await savedApi(ctx).deleteEnvironment(appOf(ctx, opts), name);
      say(ctx.io, `Deleted ${name}`);
    });

  for (const previews of [true, false]) {
    command(program, previews ? 'previews:on' : 'previews:off', 'app')
      .description(previews ? 'deploy every other pushed branch and pull request as a preview' : 'stop making previews')
      .action(async (opts: AppOptions) => {
        const saved = await savedApi(ctx).setPreviews(appOf(ctx, opts), previews);
        say(ctx.io, `Previews are ${saved.previews ? 'on' : 'off'} for ${saved.name}`);
      });
  }

  command(program, 'releases:promote', 'app')
    .description("deploy one environment's live image to another, with the target's own config (no build)")
    .argument('<from>', 'e.g. staging')
    .argument('[to]', 'the target environment', 'production')
    .action(async (from: string, to: string, opts: AppOptions) => {
      const promoted = await savedApi(ctx).promote(appOf(ctx, opts), from, to);
      say(ctx.io, `Promoted ${from} to ${promoted.environment}: now v${promoted.release.version}`);
    });
}
