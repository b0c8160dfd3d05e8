import type { Command } from 'commander';
import type { ProcessList } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { CommandExit, UsageError } from '../errors.ts';
import { say, table } from '../output.ts';
import { shellCommand } from '../run-session.ts';
import { type AppOptions, command, readCommand, targetOf } from './define.ts';

/** `web=2 worker=1` → {web: 2, worker: 1}. */
export function parseScale(args: string[]): Record<string, number> {
  if (args.length === 0) throw new UsageError('say what to scale: widemesh ps:scale web=2 worker=1');
  const changes: Record<string, number> = {};
  for (const arg of args) {
    const match = /^([a-z0-9_-]+)=(\d+)$/.exec(arg);
    if (!match) throw new UsageError(`"${arg}" is not TYPE=COUNT (e.g. web=2)`);
    changes[match[1]!] = Number(match[2]);
  }
  return changes;
}

const uptime = (seconds: number | null) =>
  seconds === null ? '' : seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;

export function processTable(list: ProcessList): string {
  const formation = Object.entries(list.formation)
    .map(([service, n]) => `${service}=${n}`)
    .join(' ');
  const rows = table(list.instances, {
    service: (i) => i.service,
    rack: (i) => i.rack,
    instance: (i) => i.instance,
    state: (i) => (i.exitCode === null ? i.state : `${i.state} (exit ${i.exitCode})`),
    release: (i) => (i.release === null ? '' : `v${i.release}`),
    restarts: (i) => i.restarts,
    up: (i) => uptime(i.uptimeSeconds),
  });
  const crashed = list.instances.filter((i) => i.state === 'crashed' && i.lastLines?.length);
  const details = crashed.map(
    (i) => `\n${i.service} ${i.instance} (crashed) last printed:\n  ${i.lastLines!.join('\n  ')}`,
  );
  return [`formation: ${formation || 'none yet'} (per rack)`, rows, ...details].join('\n');
}

export function registerProcesses(program: Command, ctx: Context): void {
  program.commandsGroup('Processes:');
  readCommand(
    program,
    ctx,
    { name: 'ps', scope: 'environment', description: 'list instances per service and rack, with state and uptime' },
    (api, opts) => api.listProcesses(targetOf(ctx, opts)),
    processTable,
  );

  command(program, 'ps:scale', 'environment')
    .description('set how many instances each process type runs, in every rack')
    .argument('<TYPE=COUNT...>', 'e.g. web=2 worker=1')
    .action(async (args: string[], opts: AppOptions) => {
      const scaled = await savedApi(ctx).scale(targetOf(ctx, opts), parseScale(args));
      const formation = Object.entries(scaled.formation).map(([s, n]) => `${s}=${n}`);
      say(ctx.io, `Scaled ${scaled.environment}: ${formation.join(' ')} per rack`);
    });

  command(program, 'ps:restart', 'environment')
    .description('restart every instance, or those of one process type')
    .argument('[type]', 'a process type, e.g. worker')
    .action(async (service: string | undefined, opts: AppOptions) => {
      const restarted = await savedApi(ctx).restart(targetOf(ctx, opts), service);
      say(ctx.io, `Restarted ${restarted.restarted} instance(s) of ${restarted.environment}`);
    });

  for (const action of ['stop', 'start'] as const) {
    command(program, `ps:${action}`, 'environment')
      .description(
        action === 'stop' ? 'stop every instance (the formation is kept for ps:start)' : 'start the formation again',
      )
      .action(async (opts: AppOptions) => {
        const done = await savedApi(ctx).stopOrStart(targetOf(ctx, opts), action);
        const running = Object.entries(done.running).map(([s, n]) => `${s}=${n}`);
        say(ctx.io, `${action === 'stop' ? 'Stopped' : 'Started'} ${done.environment}: ${running.join(' ')} per rack`);
      });
  }

  command(program, 'run', 'environment')
    .description("run a one-off process in the current release, with its config; exits with the command's code")
    .argument('<command...>', 'the command as it is (e.g. widemesh run node -e "console.log(1)"); options go before it')
    .option('--no-tty', 'no TTY even when stdin is a terminal')
    .passThroughOptions()
    .action(async (words: string[], opts: AppOptions & { tty: boolean }) => {
      const request = { command: shellCommand(words), ...(opts.tty ? {} : { tty: false }) };
      const exit = await ctx.runOneOff(ctx.settings.load(), targetOf(ctx, opts), request);
      if (exit !== 0) throw new CommandExit(exit);
    });
}
