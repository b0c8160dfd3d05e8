import semver from 'semver';
import type { PackageManager, SourceTree } from '../types.ts';
import type { PackageJson } from './package-json.ts';

/** How one package manager installs, runs scripts and prunes, as shell commands. */
export interface PackageManagerChoice {
  packageManager: PackageManager;
  globalInstalls: string[];
  /** Files and folders (ending in /) the install reads besides the package.json files. */
  installFiles: string[];
  lines: string[];
  /** Plug'n'Play: no node_modules, modules resolve through .pnp.cjs (which `yarn node` loads). */
  pnp: boolean;
  run: string;
  /** Commands that must run before the install (lockfile fixes). */
  beforeInstall: string[];
  /** Commands that must run once the code is copied over the installed dependencies. */
  afterCopy: string[];
  installAll: string;
  /** Installs without devDependencies, where the tool can. */
  installProduction?: string;
  /** Removes devDependencies after a build, where the tool can. */
  prune?: string;
  /** Why devDependencies stay, where the tool cannot remove them. */
  cannotPrune?: string;
}

const YARN_CLASSIC = '1.22.22';
/** Hosts yarn 1 and npm serve the public registry under: lockfile URLs on them need no rewrite. */
const PUBLIC_REGISTRY_HOSTS = new Set(['registry.yarnpkg.com', 'registry.npmjs.org']);

const major = (version: string) => semver.coerce(version)?.major ?? 0;

/** `packageManager: "yarn@4.0.0+sha..."` → { name, version } */
function declaredManager(pkg: PackageJson): { name: string; version: string } | undefined {
  const match = /^(npm|yarn|pnpm)@(\d[^+\s]*)/.exec(typeof pkg.packageManager === 'string' ? pkg.packageManager : '');
  return match ? { name: match[1]!, version: match[2]! } : undefined;
}

/** The top-level `key: value` of a .yarnrc.yml (all Widemesh reads from it). */
function yarnrcValue(yarnrc: string, key: string): string | undefined {
  const match = new RegExp(`^${key}\\s*:\\s*["']?([^"'#\\n]+?)["']?\\s*(#.*)?$`, 'm').exec(yarnrc);
  return match?.[1];
}

function npmChoice(src: SourceTree, npmVersion: string, engineNpm?: string): PackageManagerChoice {
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].find((f) => src.has(f));
  const hasCi = semver.gte(semver.coerce(npmVersion) ?? '10.0.0', '5.7.0'); // npm ci arrived in npm 5.7
  const useCi = lockfile !== undefined && hasCi;
  const omitDev = major(npmVersion) >= 7 ? '--omit=dev' : '--production';
  const verb = useCi ? 'npm ci' : 'npm install';
  const how = useCi
    ? `npm ci (${lockfile})`
    : lockfile
      ? `npm install (npm ${npmVersion} predates npm ci: ${lockfile} is not enforced)`
      : 'npm install (no lockfile: commit one for repeatable builds)';
  return {
    packageManager: 'npm',
    globalInstalls: engineNpm ? [`npm@${engineNpm}`] : [],
    installFiles: lockfile ? [lockfile] : [],
    lines: [how],
    pnp: false,
    run: 'npm run',
    beforeInstall: [],
    afterCopy: [],
    installAll: verb,
    installProduction: `${verb} ${omitDev}`,
    prune: `npm prune ${omitDev}`,
  };
}

/** yarn 1 lockfiles name the registry host they were made against; another host is not reachable from here. */
function foreignRegistryHosts(yarnLock: string): string[] {
  const hosts = new Set<string>();
  for (const match of yarnLock.matchAll(/resolved "https?:\/\/([^/"]+)\//g)) {
    if (!PUBLIC_REGISTRY_HOSTS.has(match[1]!)) hosts.add(match[1]!);
  }
  return [...hosts].sort();
}

function rewriteLockHosts(hosts: string[]): string {
  const alternatives = hosts.map((h) => h.replace(/[.]/g, '\\.')).join('|');
  return (
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template
    'registry="$(yarn config get registry)" && WIDEMESH_REGISTRY="${registry%/}" ' +
    `perl -pi -e 's#resolved "https?://(?:${alternatives})/(?:.*?/)??((?:@[^/"]+/)?[^/"@]+/-/[^"]+)"#resolved "$ENV{WIDEMESH_REGISTRY}/$1"#' yarn.lock`
  );
}

function yarnClassicChoice(src: SourceTree, version: string): PackageManagerChoice {
  const hosts = foreignRegistryHosts(src.readText('yarn.lock') ?? '');
  const lines = [`yarn ${version} (yarn.lock)`];
  if (hosts.length > 0)
    lines.push(`yarn.lock resolves from ${hosts.join(', ')}: fetched from the configured registry instead`);
  return {
    packageManager: 'yarn',
    globalInstalls: [`yarn@${version}`],
    installFiles: ['yarn.lock', '.yarnrc'].filter((f) => src.has(f)),
    lines,
    pnp: false,
    run: 'yarn run',
    beforeInstall: hosts.length > 0 ? [rewriteLockHosts(hosts)] : [],
    afterCopy: [],
    installAll: 'yarn install --frozen-lockfile',
    installProduction: 'yarn install --frozen-lockfile --production',
    prune: 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline',
  };
}

/** yarn 2+: the checked-in release runs when there is one (yarn 1 on PATH defers to yarnPath). */
function yarnBerryChoice(src: SourceTree, version: string): PackageManagerChoice {
  const yarnrc = src.readText('.yarnrc.yml') ?? '';
  const yarnPath = yarnrcValue(yarnrc, 'yarnPath');
  const checkedIn = yarnPath !== undefined && src.has(yarnPath.replace(/^\.\//, ''));
  const release = checkedIn ? (/yarn-([\d.]+[^/]*?)\.c?js$/.exec(yarnPath)?.[1] ?? version) : version;
  const linker = yarnrcValue(yarnrc, 'nodeLinker') ?? 'pnp';
  const zeroInstall = src.list().some((f) => f.startsWith('.yarn/cache/') && f.endsWith('.zip'));
  const canPrune = major(release) >= 4 || /plugin-workspace-tools/.test(yarnrc);
  const lines = [
    `yarn ${release} (${checkedIn ? 'checked-in release' : 'packageManager'}, ${linker === 'pnp' ? "Plug'n'Play" : linker})`,
  ];
  if (zeroInstall) lines.push('zero-install: .yarn/cache is committed, installed offline');
  // copying the code brings back the committed .pnp.cjs over the install's own: link again after it
  const relink = !zeroInstall && src.has('.pnp.cjs');
  if (relink) lines.push('.pnp.cjs is committed: linked again once the code is copied');
  // yarn 2+ ignores HTTP(S)_PROXY (an isolated build's only way out): its own settings carry them
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell expansions for the RUN line, not a template
  const proxy = 'YARN_HTTP_PROXY=${HTTP_PROXY:-} YARN_HTTPS_PROXY=${HTTPS_PROXY:-}';
  const env = `YARN_ENABLE_TELEMETRY=0 ${zeroInstall ? 'YARN_ENABLE_NETWORK=0' : proxy}`;
  return {
    packageManager: 'yarn-berry',
    globalInstalls: [checkedIn ? `yarn@${YARN_CLASSIC}` : `@yarnpkg/cli-dist@${version}`],
    installFiles: ['yarn.lock', '.yarnrc.yml']
      .filter((f) => src.has(f))
      .concat(src.list().some((f) => f.startsWith('.yarn/')) ? ['.yarn/'] : []),
    lines,
    pnp: linker === 'pnp',
    run: 'yarn run',
    beforeInstall: [],
    installAll: `${env} yarn install --immutable`,
    afterCopy: relink ? [`${env} yarn install --immutable`] : [],
    ...(canPrune
      ? { prune: `${env} yarn workspaces focus --all --production` }
      : { cannotPrune: `devDependencies kept: yarn ${release} prunes only with the workspace-tools plugin` }),
  };
}

/** pnpm's major from the lockfile format it writes, when packageManager does not say. */
function pnpmFromLockfile(lock: string): string {
  const format = /^lockfileVersion:\s*'?([\d.]+)/m.exec(lock)?.[1] ?? '9.0';
  if (format.startsWith('5')) return '7';
  if (format.startsWith('6')) return '8';
  return '9';
}

function pnpmChoice(src: SourceTree, version: string | undefined): PackageManagerChoice {
  const chosen = version ?? pnpmFromLockfile(src.readText('pnpm-lock.yaml') ?? '');
  return {
    packageManager: 'pnpm',
    globalInstalls: [`pnpm@${chosen}`],
    installFiles: ['pnpm-lock.yaml', 'pnpm-workspace.yaml', '.pnpmfile.cjs'].filter((f) => src.has(f)),
    lines: [`pnpm ${chosen} (${version ? 'packageManager or engines.pnpm' : 'pnpm-lock.yaml format'})`],
    pnp: false,
    run: 'pnpm run',
    beforeInstall: [],
    afterCopy: [],
    installAll: 'pnpm install --frozen-lockfile',
    installProduction: 'pnpm install --frozen-lockfile --prod',
    prune: 'pnpm prune --prod',
  };
}

const LOCKFILES = ['pnpm-lock.yaml', 'yarn.lock', 'npm-shrinkwrap.json', 'package-lock.json'];

/** The lockfile (or packageManager) decides the tool; engines and packageManager decide its version. */
export function choosePackageManager(src: SourceTree, pkg: PackageJson, npmVersion: string): PackageManagerChoice {
  const choice = chooseTool(src, pkg, npmVersion);
  const ignored = LOCKFILES.filter((f) => src.has(f) && !choice.installFiles.includes(f));
  if (ignored.length > 0)
    choice.lines.push(
      `${ignored.join(' and ')} ignored: ${choice.packageManager.replace('-berry', '')} installs (delete what it does not use)`,
    );
  return choice;
}

function chooseTool(src: SourceTree, pkg: PackageJson, npmVersion: string): PackageManagerChoice {
  const declared = declaredManager(pkg);
  const engines = pkg.engines ?? {};
  if (src.has('pnpm-lock.yaml') || declared?.name === 'pnpm')
    return pnpmChoice(src, declared?.name === 'pnpm' ? declared.version : engines.pnpm);
  if (src.has('yarn.lock') || declared?.name === 'yarn') {
    const version = (declared?.name === 'yarn' ? declared.version : engines.yarn) ?? YARN_CLASSIC;
    const berry = major(version) >= 2 || yarnrcValue(src.readText('.yarnrc.yml') ?? '', 'yarnPath') !== undefined;
    return berry ? yarnBerryChoice(src, version) : yarnClassicChoice(src, version);
  }
  const engineNpm = declared?.name === 'npm' ? declared.version : engines.npm;
  return npmChoice(src, engineNpm ? (semver.minVersion(engineNpm)?.version ?? npmVersion) : npmVersion, engineNpm);
}
