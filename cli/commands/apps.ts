import type { Command } from 'commander';
import type { AppInfo, AppSummary } from '../../contract/api.ts';
import { unixSocketOf } from '../client.ts';
import { type Context, savedApi } from '../context.ts';
import { ApiError, UsageError } from '../errors.ts';
import { connectRemote } from '../git.ts';
import { say, table } from '../output.ts';
import { type AppOptions, appOf, command, readCommand } from './define.ts';

const appsTable = (apps: AppSummary[]): string =>
  apps.length
    ? table(apps, { name: (a) => a.name, created: (a) => a.createdAt })
    : 'no apps yet: widemesh apps:create NAME';

export function appInfoText(app: AppInfo, environment?: string): string {
  const environments = app.environments.filter((e) => !environment || e.name === environment);
  return [
    `=== ${app.name}`,
    table(environments, {
      name: (e) => e.name,
      release: (e) => (e.release ? `v${e.release}` : '-'),
      url: (e) => e.url,
      racks: (e) => e.racks.map((r) => `${r.rack}(v${r.release ?? '?'})`).join(' '),
    }),
  ].join('\n');
}

function registerCreateAndDestroy(program: Command, ctx: Context): void {
  command(program, 'apps:create', 'server')
    .description('create an app and, in a git repository, add the `widemesh` remote and a credential helper')
    .argument('<name>', 'lower-case letters, digits and dashes')
    .action(async (name: string) => {
      const settings = ctx.settings.load();
      const app = await ctx.connect(settings).createApp(name);
      say(ctx.io, `Created ${app.name}: ${app.environments[0]?.url ?? ''}`);
      if (unixSocketOf(settings.url))
        say(ctx.io, "No git remote added: git cannot reach a unix socket; add one with the server's http(s) URL");
      else if (connectRemote(ctx.git, settings.url, name, ctx.credentialHelper))
        say(ctx.io, 'Git remote widemesh added: git push widemesh main');
    });

  command(program, 'apps:destroy', 'app')
    .description('delete an app and stop its instances')
    .argument('[name]', 'the app (or -a APP)')
    .option('--confirm <name>', 'the app name again: deleting cannot be undone')
    .action(async (name: string | undefined, opts: AppOptions & { confirm?: string }) => {
      const app = appOf(ctx, { app: name ?? opts.app });
      if (opts.confirm !== app) throw new UsageError(`this deletes ${app} and stops it: confirm with --confirm ${app}`);
      await savedApi(ctx).deleteApp(app);
      say(ctx.io, `Destroyed ${app}`);
    });
}

export function registerApps(program: Command, ctx: Context): void {
  program.commandsGroup('Apps:');
  readCommand(
    program,
    ctx,
    { name: 'apps', scope: 'server', description: 'list apps' },
    (api) => api.listApps(),
    appsTable,
  );
  registerCreateAndDestroy(program, ctx);
  readCommand(
    program,
    ctx,
    { name: 'apps:info', scope: 'environment', description: 'environments, current release and racks of an app' },
    (api, opts) => api.getApp(appOf(ctx, opts)),
    (app, opts) => appInfoText(app, opts.environment),
  );

  command(program, 'open', 'environment')
    .description('open the app in a browser (where there is one) and print its URL')
    .action(async (opts: AppOptions) => {
      const app = await savedApi(ctx).getApp(appOf(ctx, opts));
      const wanted = opts.environment ?? 'production';
      const env = app.environments.find((e) => e.name === wanted);
      if (!env) throw new ApiError(`${app.name} has no environment "${wanted}"`, 'ENVIRONMENT_NOT_FOUND');
      say(ctx.io, ctx.openBrowser(env.url) ? `Opening ${env.url}` : env.url);
    });
}
