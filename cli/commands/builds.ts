import type { Command } from 'commander';
import type { Build } from '../../contract/api.ts';
import type { Context } from '../context.ts';
import { shortCommit, table } from '../output.ts';
import { readCommand, targetOf } from './define.ts';

const buildsTable = (builds: Build[]): string =>
  table(builds, {
    id: (b) => b.id,
    status: (b) => b.status,
    commit: (b) => shortCommit(b.commit),
    buildpack: (b) => b.buildpack,
    created: (b) => b.createdAt,
  });

export function registerBuilds(program: Command, ctx: Context): void {
  readCommand(
    program,
    ctx,
    { name: 'builds', scope: 'environment', description: 'list builds, newest first' },
    (api, opts) => api.listBuilds(targetOf(ctx, opts)),
    buildsTable,
  );
}
