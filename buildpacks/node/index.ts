import type { Buildpack, NodePlan, SourceTree } from '../types.ts';
import { hasScript, type PackageJson, readPackageJson } from './package-json.ts';
import { choosePackageManager, type PackageManagerChoice } from './package-managers.ts';
import { installSecrets, planScripts } from './scripts.ts';
import { chooseNode } from './versions.ts';
import { workspaceGlobs, workspaceManifests } from './workspaces.ts';

function defaultWeb(src: SourceTree, pkg: PackageJson, pm: PackageManagerChoice, pnp: boolean): string | undefined {
  if (hasScript(pkg, 'start')) return `${pm.run} start`;
  const main = [pkg.main, 'server.js', 'index.js', 'app.js'].find(
    (f): f is string => typeof f === 'string' && src.has(f.replace(/^\.\//, '')),
  );
  if (!main) return undefined;
  // Plug'n'Play resolves modules through .pnp.cjs, which `yarn node` loads
  return `${pnp ? 'yarn node' : 'node'} ${main.replace(/^\.\//, '')}`;
}

/** package.json files of the root and every workspace, so each workspace's dependencies are installed. */
function manifests(src: SourceTree, pkg: PackageJson): { files: string[]; line?: string } {
  const globs = workspaceGlobs(src, pkg);
  if (globs.length === 0) return { files: ['package.json'] };
  const found = workspaceManifests(src, globs);
  for (const file of found) readPackageJson(src, file); // a broken workspace manifest is named now, not mid-install
  return {
    files: ['package.json', ...found],
    line: `workspaces: ${globs.join(', ')} (${found.length} package${found.length === 1 ? '' : 's'})`,
  };
}

function planNode(src: SourceTree, ctx: Parameters<Buildpack['detect']>[1], processes: Record<string, string>) {
  const pkg = readPackageJson(src);
  const node = chooseNode(pkg.engines?.node, ctx);
  const pm = choosePackageManager(src, pkg, node.npmVersion);
  const scripts = planScripts(pkg, pm);
  const workspaces = manifests(src, pkg);
  const secrets = installSecrets(src);
  // engines.npm over an installed Node: that npm replaces the bundled one instead of going on top
  const npmSpec = pm.globalInstalls.find((g) => g.startsWith('npm@'));
  const installNode = node.installNode && { ...node.installNode, ...(npmSpec ? { npm: npmSpec.slice(4) } : {}) };
  const globalInstalls = installNode ? pm.globalInstalls.filter((g) => g !== npmSpec) : pm.globalInstalls;
  const pnp = pm.packageManager === 'yarn-berry' && pm.lines[0]!.includes("Plug'n'Play");
  const web = processes.web ?? defaultWeb(src, pkg, pm, pnp);
  const production = !scripts.needsDevDependencies && pm.installProduction;
  // nothing to prune without devDependencies (yarn 2+ would otherwise relink every package for nothing)
  const hasDevDependencies = workspaces.files.some(
    (f) => Object.keys(readPackageJson(src, f).devDependencies ?? {}).length > 0,
  );
  const summary = [
    node.line,
    ...(npmSpec ? [`npm ${npmSpec.slice(4)} (engines.npm or packageManager)`] : []),
    ...pm.lines,
    ...(workspaces.line ? [workspaces.line] : []),
    ...scripts.lines,
    ...(secrets.length > 0 ? [`install reads ${secrets.join(', ')} (config vars, kept out of the image)`] : []),
    web
      ? `web: ${web}${processes.web ? ' (Procfile)' : ''}`
      : 'no start command found: add a "start" script or a Procfile with a web process',
  ];
  const plan: NodePlan = {
    buildpack: 'node',
    summary,
    baseImages: [node.stackImage],
    processes: { ...processes, ...(web ? { web } : {}) },
    stackImage: node.stackImage,
    ...(installNode ? { installNode } : {}),
    packageManager: pm.packageManager,
    globalInstalls,
    manifestFiles: scripts.installNeedsSource
      ? []
      : [...workspaces.files, ...pm.installFiles, '.npmrc'].filter((f) => f.endsWith('/') || src.has(f)),
    install: [...scripts.prebuild, ...pm.beforeInstall, production || pm.installAll],
    build: [
      ...pm.afterCopy,
      ...scripts.build,
      ...(production || !pm.prune || !hasDevDependencies ? [] : [pm.prune]),
      ...scripts.cleanup,
    ],
    installSecrets: secrets,
  };
  return plan;
}

export const nodeBuildpack: Buildpack = {
  name: 'node',
  title: 'Node.js',
  describe: 'Node.js: a package.json at the root',
  detect(src, ctx, processes) {
    if (!src.has('package.json')) return null;
    return planNode(src, ctx, processes);
  },
};
