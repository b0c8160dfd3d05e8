import semver from 'semver';
import { newestStack } from '../newest-node-stack.ts';
import { BuildpackError, type DetectContext, type NodePlan } from '../types.ts';

export interface NodeChoice extends Pick<NodePlan, 'stackImage' | 'installNode'> {
  line: string;
  /** The npm that will run (a version or a major): decides which npm commands and flags exist. */
  npmVersion: string;
}

/** The npm each Node release line shipped with (its last release's), which Heroku uses unless engines.npm says. */
const BUNDLED_NPM: [nodeRange: string, npm: string][] = [
  ['<5', '2.15.12'],
  ['5.x', '3.8.9'],
  ['6.x', '3.10.10'],
  ['7.x', '4.2.0'],
  ['8.x', '6.13.4'],
  ['9.x', '5.6.0'],
  ['10.x', '6.14.12'],
  ['11.x', '6.7.0'],
  ['12.x', '6.14.16'],
  ['13.x', '6.14.4'],
  ['14.x', '6.14.18'],
  ['15.x', '7.24.0'],
  ['16.x || 17.x', '8.19.4'],
  ['>=18.0.0 <18.17.0 || 19.x', '9.9.4'],
];
/** What the stack images carry (npm@10, whichever minor): it runs on Node ^18.17 and >=20.5. */
const STACK_NPM = '10';

function bundledNpm(nodeVersion: string): string {
  return BUNDLED_NPM.find(([range]) => semver.satisfies(nodeVersion, range))?.[1] ?? STACK_NPM;
}

/** The published versions either side of what a range asks for, to suggest a fix. */
function nearestVersions(range: string, published: string[]): string[] {
  const min = semver.minVersion(range);
  if (!min) return [];
  const below = semver.maxSatisfying(published, `<${min.version}`);
  const above = semver.minSatisfying(published, `>${min.version}`);
  return [below, above].filter((v): v is string => v !== null);
}

function unresolved(range: string, ctx: DetectContext): BuildpackError {
  const newest = semver.maxSatisfying(ctx.publishedNodeVersions, '*');
  if (!newest) {
    const stacks = ctx.nodeStacks.map((s) => s.nodeVersion).join(', ');
    return new BuildpackError(
      'NODE_VERSION_UNRESOLVED',
      `no stack image matches engines.node "${range}" (stacks: ${stacks}) and the list of published Node.js versions could not be read from the npm registry`,
    );
  }
  const nearest = nearestVersions(range, ctx.publishedNodeVersions);
  return new BuildpackError(
    'NODE_VERSION_UNRESOLVED',
    `no published Node.js version matches engines.node "${range}" (nearest published: ${nearest.join(', ') || 'none'}; the newest is ${newest}); change engines.node in package.json`,
  );
}

/** engines.node → a stack image that has it, else an exact published version (with its npm) over the newest stack. */
export function chooseNode(range: string | undefined, ctx: DetectContext): NodeChoice {
  const newest = newestStack(ctx);
  if (!range) {
    return {
      stackImage: newest.image,
      npmVersion: STACK_NPM,
      line: `Node.js ${newest.nodeVersion} (newest stack; set engines.node to choose)`,
    };
  }
  if (semver.validRange(range) === null)
    throw new BuildpackError(
      'NODE_VERSION_UNRESOLVED',
      `engines.node "${range}" in package.json is not a valid semver range`,
    );
  const stacks = [...ctx.nodeStacks].sort((a, b) => semver.rcompare(a.nodeVersion, b.nodeVersion));
  const stack = stacks.find((s) => semver.satisfies(s.nodeVersion, range));
  if (stack)
    return {
      stackImage: stack.image,
      npmVersion: STACK_NPM,
      line: `Node.js ${stack.nodeVersion} (engines.node "${range}")`,
    };
  const version = semver.maxSatisfying(ctx.publishedNodeVersions, range);
  if (!version) throw unresolved(range, ctx);
  const npm = bundledNpm(version);
  return {
    stackImage: newest.image,
    installNode: { node: version, npm },
    npmVersion: npm,
    line: `Node.js ${version} (engines.node "${range}", installed from the npm registry with npm ${npm})`,
  };
}
