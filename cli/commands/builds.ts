import type { Command } from 'commander';
import {
  type AppOptions,
  type Context,
  environmentOptions,
  type JsonOption,
  jsonOption,
  savedApi,
  targetOf,
} from '../context.ts';
import { shortCommit, show, table } from '../output.ts';

export function registerBuilds(program: Command, ctx: Context): void {
  jsonOption(environmentOptions(program.command('builds')))
    .description('list builds, newest first')
    .action(async (opts: AppOptions & JsonOption) => {
      const builds = await savedApi(ctx).listBuilds(targetOf(ctx, opts));
      show(ctx.io, opts.json, builds, () =>
        table(builds, {
          id: (b) => b.id,
          status: (b) => b.status,
          commit: (b) => shortCommit(b.commit),
          buildpack: (b) => b.buildpack,
          created: (b) => b.createdAt,
        }),
      );
    });
}
