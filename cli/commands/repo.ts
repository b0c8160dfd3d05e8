import { type Command, Option } from 'commander';
import type { Delivery, Repository, RepositoryRequest } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, shortCommit, table } from '../output.ts';
import { type AppOptions, appOf, command, readCommand } from './define.ts';

/** `main=production …` → {main: "production"}. */
export function parseBranches(pairs: string[]): Record<string, string> {
  const branches: Record<string, string> = {};
  for (const pair of pairs) {
    const [branch, environment, extra] = pair.split('=');
    if (!branch || !environment || extra !== undefined) throw new UsageError(`"${pair}" is not BRANCH=ENVIRONMENT`);
    branches[branch] = environment;
  }
  return branches;
}

interface ConnectOptions extends AppOptions {
  provider: string;
  url: string;
  branch?: string[];
  username?: string;
}

/** The request body; `password` is the read token, which only ever comes from stdin. */
function repositoryRequest(opts: ConnectOptions, password?: string): RepositoryRequest {
  return {
    host: opts.provider,
    cloneUrl: opts.url,
    ...(opts.branch ? { branches: parseBranches(opts.branch) } : {}),
    ...(opts.username ? { username: opts.username, password: password ?? '' } : {}),
  };
}

const repositoryText = (repo: Repository): string =>
  [
    `${repo.host} ${repo.cloneUrl}${repo.private ? ' (private)' : ''}`,
    `webhook: ${repo.webhookUrl}`,
    `branches: ${Object.entries(repo.branches)
      .map(([b, e]) => `${b} → ${e}`)
      .join(', ')}`,
  ].join('\n');

const deliveriesTable = (list: Delivery[]): string =>
  table(list, {
    received: (d) => d.receivedAt,
    id: (d) => d.id,
    event: (d) => d.event,
    ref: (d) => d.ref,
    commit: (d) => shortCommit(d.commit),
    outcome: (d) => d.outcome,
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];

function registerConnect(program: Command, ctx: Context): void {
  command(program, 'repo:connect', 'app')
    .description('deploy the app on pushes to a GitHub or Bitbucket repository (a read token is read from stdin)')
    .addOption(new Option('--provider <host>', 'the git host the repository is on').choices(['github', 'bitbucket']))
    .requiredOption('--url <clone-url>', 'the https clone URL')
    .option('--branch <branch=environment>', 'deploy this branch to that environment (repeatable)', collect)
    .option('--username <user>', 'for a private repository: the user of the read token given on stdin')
    .action(async (opts: ConnectOptions) => {
      if (!opts.provider) throw new UsageError('which provider? --provider github or --provider bitbucket');
      const password = opts.username ? (await ctx.io.stdin()).trim() : undefined;
      const request = repositoryRequest(opts, password);
      const repo = await savedApi(ctx).connectRepository(appOf(ctx, opts), request);
      say(ctx.io, `Connected to ${repo.cloneUrl}. Add a ${repo.host} webhook (push events, JSON):`);
      say(ctx.io, `  URL:    ${repo.webhookUrl}\n  secret: ${repo.secret}   (shown once)`);
    });

  command(program, 'repo:disconnect', 'app')
    .description('stop deploying on pushes to the connected repository')
    .action(async (opts: AppOptions) => {
      await savedApi(ctx).disconnectRepository(appOf(ctx, opts));
      say(ctx.io, 'Disconnected');
    });
}

export function registerRepo(program: Command, ctx: Context): void {
  program.commandsGroup('Deploying on pushes to GitHub or Bitbucket:');
  registerConnect(program, ctx);
  readCommand(
    program,
    ctx,
    { name: 'repo:info', scope: 'app', description: 'the connected repository and its webhook URL' },
    (api, opts) => api.getRepository(appOf(ctx, opts)),
    repositoryText,
  );
  readCommand(
    program,
    ctx,
    { name: 'deliveries', scope: 'app', description: 'webhook deliveries and what became of them' },
    (api, opts) => api.listDeliveries(appOf(ctx, opts)),
    deliveriesTable,
  );
}
