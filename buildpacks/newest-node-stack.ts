import semver from 'semver';
import { BuildpackError, type DetectContext, type NodeStack } from './types.ts';

export function newestStack(ctx: DetectContext): NodeStack {
  const sorted = [...ctx.nodeStacks].sort((a, b) => semver.rcompare(a.nodeVersion, b.nodeVersion));
  if (!sorted[0])
    throw new BuildpackError(
      'NO_STACK_IMAGE',
      'no Node stack image is present on the server (scripts/build-stacks builds them)',
    );
  return sorted[0];
}
