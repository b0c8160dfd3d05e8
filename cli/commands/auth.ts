import type { Command } from 'commander';
import type { Context } from '../context.ts';
import { say } from '../output.ts';
import { command } from './define.ts';

/** git's credential helper protocol: `key=value` lines. */
function parseCredentialRequest(text: string): Record<string, string> {
  const pairs = text
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  return Object.fromEntries(pairs);
}

export function registerAuth(program: Command, ctx: Context): void {
  program.commandsGroup('Logging in:');
  command(program, 'login', 'server')
    .description('store the server URL and token (the token from --token, WIDEMESH_TOKEN or stdin)')
    .requiredOption(
      '--url <url>',
      'the Widemesh server, e.g. http://127.0.0.1:7070, or unix:DATA/api.sock on its machine',
    )
    .option('--token <token>', 'the API token (prefer WIDEMESH_TOKEN or stdin: arguments show in `ps`)')
    .action(async (opts: { url: string; token?: string }) => {
      const token = (opts.token ?? ctx.env.WIDEMESH_TOKEN ?? (await ctx.io.stdin())).trim();
      const settings = { url: opts.url.replace(/\/+$/, ''), token };
      await ctx.connect(settings).listApps(); // a wrong URL or token fails here, before anything is saved
      ctx.settings.save(settings);
      say(ctx.io, `Logged in to ${settings.url} (token saved in ${ctx.settings.file})`);
    });

  command(program, 'whoami', 'server')
    .description('show which token the saved login uses, and on which server')
    .action(async () => {
      const settings = ctx.settings.load();
      const me = await ctx.connect(settings).whoami();
      say(ctx.io, `${me.name} (token) on ${settings.url}`);
    });

  command(program, 'logout', 'server')
    .description('forget the saved server URL and token')
    .action(() => {
      say(ctx.io, ctx.settings.clear() ? `Logged out (removed ${ctx.settings.file})` : 'Not logged in');
    });

  // git runs this (see apps:create): it answers `get` with the token, for our server only
  program
    .command('git-credential', { hidden: true })
    .description("git's credential helper for the Widemesh server")
    .argument('<operation>', 'get, store or erase')
    .action(async (operation: string) => {
      if (operation !== 'get') return;
      const request = parseCredentialRequest(await ctx.io.stdin());
      const settings = ctx.settings.load();
      if (request.host === new URL(settings.url).host) say(ctx.io, `username=widemesh\npassword=${settings.token}`);
    });
}
