import semver from 'semver';
import { newestStack } from './stacks.ts';
import {
  type Buildpack,
  BuildpackError,
  type DetectContext,
  type NodePlan,
  type PackageManager,
  type SourceTree,
} from './types.ts';

interface PackageJson {
  main?: string;
  scripts?: Record<string, string>;
  engines?: { node?: string };
  packageManager?: string;
}

function readPackageJson(src: SourceTree): PackageJson {
  const text = src.readText('package.json') ?? '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it is not a JSON object');
    return parsed as PackageJson;
  } catch (err) {
    throw new BuildpackError('PACKAGE_JSON_INVALID', `package.json is not valid: ${(err as Error).message}`);
  }
}

/** engines.node → a stack image that has it, else an exact published version to install over the newest stack. */
function chooseNode(
  range: string | undefined,
  ctx: DetectContext,
): Pick<NodePlan, 'stackImage' | 'installNode'> & { line: string } {
  const newest = newestStack(ctx);
  if (!range)
    return {
      stackImage: newest.image,
      line: `Node.js ${newest.nodeVersion} (newest stack; set engines.node to choose)`,
    };
  if (semver.validRange(range) === null) {
    throw new BuildpackError(
      'NODE_VERSION_UNRESOLVED',
      `engines.node "${range}" in package.json is not a valid semver range`,
    );
  }
  const stacks = [...ctx.nodeStacks].sort((a, b) => semver.rcompare(a.nodeVersion, b.nodeVersion));
  const stack = stacks.find((s) => semver.satisfies(s.nodeVersion, range));
  if (stack) return { stackImage: stack.image, line: `Node.js ${stack.nodeVersion} (engines.node "${range}")` };
  const version = semver.maxSatisfying(ctx.publishedNodeVersions, range);
  if (!version) {
    const newestPublished = semver.maxSatisfying(ctx.publishedNodeVersions, '*');
    throw new BuildpackError(
      'NODE_VERSION_UNRESOLVED',
      newestPublished
        ? `no published Node.js version matches engines.node "${range}" (the newest is ${newestPublished}); change engines.node in package.json`
        : `no stack image matches engines.node "${range}" (stacks: ${stacks.map((s) => s.nodeVersion).join(', ')}) and the list of published Node.js versions could not be read from the npm registry`,
    );
  }
  return {
    stackImage: newest.image,
    installNode: version,
    line: `Node.js ${version} (engines.node "${range}", installed from the npm registry)`,
  };
}

function choosePackageManager(
  src: SourceTree,
  pkg: PackageJson,
): Pick<NodePlan, 'packageManager' | 'packageManagerInstall' | 'manifestFiles'> & { line: string; lockfile?: string } {
  const declared = /^(yarn|pnpm)@(\d[^+\s]*)/.exec(pkg.packageManager ?? '');
  const versionOf = (name: string, fallback: string) => (declared?.[1] === name ? declared[2]! : fallback);
  const manifest = (lockfile: string, ...extra: string[]) =>
    ['package.json', lockfile, ...extra, '.npmrc'].filter((f, i, all) => src.has(f) && all.indexOf(f) === i);
  if (src.has('pnpm-lock.yaml')) {
    const version = versionOf('pnpm', '9');
    return {
      packageManager: 'pnpm',
      packageManagerInstall: `pnpm@${version}`,
      manifestFiles: manifest('pnpm-lock.yaml', 'pnpm-workspace.yaml'),
      line: `pnpm ${version} (pnpm-lock.yaml)`,
    };
  }
  if (src.has('yarn.lock')) {
    const version = versionOf('yarn', '1');
    const berry = semver.valid(semver.coerce(version)) !== null && semver.major(semver.coerce(version)!) >= 2;
    return {
      packageManager: berry ? 'yarn-berry' : 'yarn',
      packageManagerInstall: `yarn@${version}`,
      manifestFiles: manifest('yarn.lock', '.yarnrc.yml', '.yarnrc'),
      line: `yarn ${version} (yarn.lock)`,
    };
  }
  const lockfile = ['package-lock.json', 'npm-shrinkwrap.json'].find((f) => src.has(f));
  return {
    packageManager: 'npm',
    manifestFiles: manifest(lockfile ?? 'package.json'),
    line: lockfile ? `npm ci (${lockfile})` : 'npm install (no lockfile: commit one for repeatable builds)',
    lockfile,
  };
}

const COMMANDS: Record<
  PackageManager,
  { all: string; production: string; run: string; prune: string; locked: boolean }
> = {
  npm: { all: 'npm ci', production: 'npm ci --omit=dev', run: 'npm run', prune: 'npm prune --omit=dev', locked: true },
  yarn: {
    all: 'yarn install --frozen-lockfile',
    production: 'yarn install --frozen-lockfile --production',
    run: 'yarn run',
    prune: 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline',
    locked: true,
  },
  'yarn-berry': {
    all: 'yarn install --immutable',
    production: 'yarn install --immutable',
    run: 'yarn run',
    prune: '',
    locked: true,
  },
  pnpm: {
    all: 'pnpm install --frozen-lockfile',
    production: 'pnpm install --frozen-lockfile --prod',
    run: 'pnpm run',
    prune: 'pnpm prune --prod',
    locked: true,
  },
};

function defaultWeb(src: SourceTree, pkg: PackageJson, pm: PackageManager): string | undefined {
  if (pkg.scripts?.start) return `${COMMANDS[pm].run} start`;
  const main = [pkg.main, 'server.js', 'index.js', 'app.js'].find(
    (f): f is string => typeof f === 'string' && src.has(f.replace(/^\.\//, '')),
  );
  return main ? `node ${main.replace(/^\.\//, '')}` : undefined;
}

export const nodeBuildpack: Buildpack = {
  name: 'node',
  title: 'Node.js',
  describe: 'Node.js: a package.json at the root',
  detect(src, ctx, processes) {
    if (!src.has('package.json')) return null;
    const pkg = readPackageJson(src);
    const node = chooseNode(pkg.engines?.node, ctx);
    const pm = choosePackageManager(src, pkg);
    const commands = COMMANDS[pm.packageManager];
    const hasBuild = typeof pkg.scripts?.build === 'string';
    const install =
      pm.packageManager === 'npm' && !pm.lockfile
        ? hasBuild
          ? 'npm install'
          : 'npm install --omit=dev'
        : hasBuild
          ? commands.all
          : commands.production;
    const web = processes.web ?? defaultWeb(src, pkg, pm.packageManager);
    const summary = [node.line, pm.line];
    if (hasBuild) summary.push(`build script: ${pkg.scripts!.build}`);
    summary.push(
      web
        ? `web: ${web}${processes.web ? ' (Procfile)' : ''}`
        : 'no start command found: add a "start" script or a Procfile with a web process',
    );
    return {
      buildpack: 'node',
      summary,
      baseImages: [node.stackImage],
      processes: { ...processes, ...(web ? { web } : {}) },
      stackImage: node.stackImage,
      ...(node.installNode ? { installNode: node.installNode } : {}),
      packageManager: pm.packageManager,
      ...(pm.packageManagerInstall ? { packageManagerInstall: pm.packageManagerInstall } : {}),
      manifestFiles: pm.manifestFiles,
      install,
      ...(hasBuild ? { build: `${commands.run} build` } : {}),
      ...(hasBuild && commands.prune
        ? { prune: pm.packageManager === 'npm' && !pm.lockfile ? 'npm prune --omit=dev' : commands.prune }
        : {}),
    };
  },
};
