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
  num?: string;
}

/** `-n 50` → 50. */
function lineCount(arg: string | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const count = Number(arg);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`"${arg}" is not a number of lines (e.g. -n 200)`);
  return count;
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
    lines: lineCount(opts.num),
  };
}

export function registerLogs(program: Command, ctx: Context): void {
  program.commandsGroup('Logs:');
  command(program, 'logs', 'environment')
    .description(
      "show the latest build's log; --tail shows the app's last lines, then follows its output in every rack",
    )
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
    .option('-n, --num <lines>', 'how many of the last lines to show (default: a whole build log, 100 of app output)')
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
