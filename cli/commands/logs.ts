import { type Command, Option } from 'commander';
import type { LogSource } from '../../contract/api.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { followLogs, type LogRequest } from '../log-tail.ts';
import { type AppOptions, appOf, command } from './define.ts';

interface LogsOptions extends AppOptions {
  tail?: boolean;
  source?: LogSource;
  build?: string;
}

/** Without --source: the latest build's log, or with --tail the app's output. */
export function logRequest(app: string, opts: LogsOptions): LogRequest {
  const build = opts.build === undefined ? undefined : Number(opts.build);
  if (build !== undefined && (!Number.isInteger(build) || build < 1))
    throw new UsageError(`"${opts.build}" is not a build id (widemesh builds lists them)`);
  return {
    app,
    environment: opts.environment,
    source: opts.source ?? (opts.tail ? 'app' : 'build'),
    tail: opts.tail ?? false,
    build,
  };
}

export function registerLogs(program: Command, ctx: Context): void {
  program.commandsGroup('Logs:');
  command(program, 'logs', 'environment')
    .description("show the latest build's log; --tail follows the app's output in every rack")
    .option('-t, --tail', 'keep following (reconnects when the connection drops; Ctrl-C stops)')
    .addOption(
      new Option('--source <source>', 'which log (default: build, or app with --tail)').choices([
        'build',
        'app',
        'router',
        'all',
      ]),
    )
    .option('--build <id>', 'a given build instead of the latest')
    .action(async (opts: LogsOptions) => {
      const request = logRequest(appOf(ctx, opts), opts);
      const { url, token } = ctx.settings.load();
      const interruption = ctx.interruption();
      try {
        await followLogs({
          serverUrl: url,
          token,
          request,
          write: (line) => ctx.io.stdout(`${line}\n`),
          warn: (line) => ctx.io.stderr(` !    ${line}\n`),
          stop: interruption.signal,
        });
      } finally {
        interruption.release();
      }
    });
}
