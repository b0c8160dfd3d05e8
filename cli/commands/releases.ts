import type { Command } from 'commander';
import type { Release, ReleaseOutput } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { ApiError, UsageError } from '../errors.ts';
import { say, show, table } from '../output.ts';
import { type AppOptions, command, type JsonOption, readCommand, targetOf } from './define.ts';

/** `v3` or `3` → 3. */
export function parseVersion(arg: string): number {
  const version = Number(arg.replace(/^v/, ''));
  if (!Number.isInteger(version) || version < 1) throw new UsageError(`"${arg}" is not a release version like v3`);
  return version;
}

/** The release before the current one: the second newest that succeeded (the list is newest first). */
function previousRelease(releases: Release[]): number {
  const good = releases.filter((r) => r.status === 'succeeded');
  if (good.length < 2) throw new ApiError('there is no earlier release to roll back to', 'NO_EARLIER_RELEASE');
  return good[1]!.version;
}

const releasesTable = (releases: Release[]): string =>
  table(releases, {
    version: (r) => `v${r.version}`,
    status: (r) => r.status,
    description: (r) => r.description,
    created: (r) => r.createdAt,
  });

/** The release phase's lines as they were printed, or why there are none. */
const releaseOutputText = (output: ReleaseOutput): string =>
  output.lines === null
    ? `v${output.version} ran no release phase`
    : [`Release phase output of v${output.version} (${output.status}):`, ...output.lines].join('\n');

/** Release `arg` (v3), or the current one: the newest that succeeded. */
function releaseNamed(releases: Release[], arg: string | undefined): Release {
  const wanted = arg === undefined ? undefined : parseVersion(arg);
  const found = releases.find((r) => (wanted === undefined ? r.status === 'succeeded' : r.version === wanted));
  if (!found)
    throw new ApiError(wanted ? `there is no release v${wanted}` : 'nothing is released yet', 'RELEASE_NOT_FOUND');
  return found;
}

const releaseText = (r: Release): string =>
  [
    `=== Release v${r.version}`,
    `status:      ${r.status}${r.error ? ` (${r.error})` : ''}`,
    `description: ${r.description}`,
    `image:       ${r.image}`,
    `build:       ${r.buildId ?? '-'}`,
    `config vars: ${r.configKeys.join(', ') || 'none'}`,
    `created:     ${r.createdAt}`,
  ].join('\n');

export function registerReleases(program: Command, ctx: Context): void {
  program.commandsGroup('Releases and builds:');
  readCommand(
    program,
    ctx,
    { name: 'releases', scope: 'environment', description: 'list releases, newest first' },
    (api, opts) => api.listReleases(targetOf(ctx, opts)),
    releasesTable,
  );

  command(program, 'releases:output', 'environment')
    .description("show what a release's release phase printed (after a push, a config change or a promotion)")
    .argument('[version]', 'the release, e.g. v3 (default: the newest)')
    .option('--json', 'print the answer as JSON')
    .action(async (arg: string | undefined, opts: AppOptions & JsonOption) => {
      const api = savedApi(ctx);
      const target = targetOf(ctx, opts);
      const newest = async () => (await api.listReleases(target))[0]?.version;
      const version = arg ? parseVersion(arg) : await newest();
      if (version === undefined) throw new ApiError('there are no releases yet', 'NO_RELEASES');
      show(ctx.io, opts.json, await api.releaseOutput(target, version), releaseOutputText);
    });

  command(program, 'releases:info', 'environment')
    .description('show one release (default: the current one)')
    .argument('[version]', 'e.g. v3')
    .option('--json', 'print the answer as JSON')
    .action(async (version: string | undefined, opts: AppOptions & JsonOption) => {
      const release = releaseNamed(await savedApi(ctx).listReleases(targetOf(ctx, opts)), version);
      show(ctx.io, opts.json, release, releaseText);
    });

  command(program, 'rollback', 'environment')
    .description('make a new release with the image and config of an earlier one')
    .argument('[version]', 'the release to go back to, e.g. v3 (default: the one before the current)')
    .action(async (arg: string | undefined, opts: AppOptions) => {
      const api = savedApi(ctx);
      const target = targetOf(ctx, opts);
      const version = arg ? parseVersion(arg) : previousRelease(await api.listReleases(target));
      const result = await api.rollback(target, version);
      say(ctx.io, `Rolled back to v${version}: now v${result.release.version}`);
    });
}
