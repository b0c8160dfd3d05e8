/**
 * `widemesh`: drives a Widemesh server the way the Heroku CLI drives Heroku. The commands are
 * defined in cli/commands/ (one module per group); help is generated from those definitions.
 * Exit codes: 0 done, 1 the server or git refused (message on stderr), 2 bad usage.
 */
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerApps } from './commands/apps.ts';
import { registerAuth } from './commands/auth.ts';
import { registerBuilds } from './commands/builds.ts';
import { registerConfig } from './commands/config.ts';
import { registerDomains } from './commands/domains.ts';
import { registerEnvironments } from './commands/environments.ts';
import { registerLogs } from './commands/logs.ts';
import { registerProviders } from './commands/providers.ts';
import { registerProcesses } from './commands/ps.ts';
import { registerReleases } from './commands/releases.ts';
import { registerRepo } from './commands/repo.ts';
import type { Context } from './context.ts';
import { CommandExit, exitCodeFor, forPeople } from './errors.ts';

/** In the order help lists them. */
const COMMAND_GROUPS = [
  registerAuth,
  registerApps,
  registerEnvironments,
  registerConfig,
  registerReleases,
  registerProcesses,
  registerBuilds,
  registerLogs,
  registerDomains,
  registerRepo,
  registerProviders,
];

/** `widemesh/0.1.0 node-v20.11.0`, as `heroku --version` says it. */
function versionText(): string {
  const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return `widemesh/${version} ${process.platform}-${process.arch} node-${process.version}`;
}

export function buildProgram(ctx: Context): Command {
  const program = new Command('widemesh')
    .description('Drive a Widemesh server: apps, config vars, releases, logs, repositories and racks.')
    .usage('COMMAND [options]')
    // settings made here are inherited by every command added below
    .exitOverride()
    // options after a command's arguments belong to it (`run node -e …`): see passThroughOptions
    .enablePositionalOptions()
    .configureOutput({ writeOut: ctx.io.stdout, writeErr: ctx.io.stderr })
    .showHelpAfterError('(`widemesh help COMMAND` shows how to use a command)')
    .helpCommand('help [command]', 'show help for a command')
    .version(versionText(), '-v, --version', 'print the version');
  for (const register of COMMAND_GROUPS) register(program, ctx);
  return program;
}

/** Runs one command line (without `node bin.js`); answers the exit code. */
export async function main(argv: string[], ctx: Context): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync(argv.length > 0 ? argv : ['help'], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already explained its own errors (usage, unknown commands) on stderr
    if (!(err instanceof CommanderError || err instanceof CommandExit)) ctx.io.stderr(` !    ${forPeople(err)}\n`);
    return exitCodeFor(err);
  }
}
