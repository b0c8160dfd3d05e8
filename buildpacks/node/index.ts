import { STATIC_SERVER_BIN } from '../static-server.ts';
import type { Buildpack, DetectContext, NodePlan, SourceTree } from '../types.ts';
import { detectFramework } from './frameworks/index.ts';
import { dependsOn, hasScript, type PackageJson, readPackageJson } from './package-json.ts';
import { choosePackageManager, type PackageManagerChoice } from './package-managers.ts';
import { installSecrets, planScripts, type ScriptPlan } from './scripts.ts';
import { chooseNode, type NodeChoice } from './versions.ts';
import { workspaceGlobs, workspaceManifests } from './workspaces.ts';

function defaultWeb(src: SourceTree, pkg: PackageJson, pm: PackageManagerChoice): string | undefined {
  if (hasScript(pkg, 'start')) return `${pm.run} start`;
  const main = [pkg.main, 'server.js', 'index.js', 'app.js'].find(
    (f): f is string => typeof f === 'string' && src.has(f.replace(/^\.\//, '')),
  );
  if (!main) return undefined;
  // Plug'n'Play resolves modules through .pnp.cjs, which `yarn node` loads
  return `${pm.pnp ? 'yarn node' : 'node'} ${main.replace(/^\.\//, '')}`;
}

/**
 * A Vite app with a build script and no start command builds a static dist/ (Vite's default outDir): as
 * Railpack does, it is served as a single-page app instead of failing for want of a start command.
 */
function singlePageRoot(pkg: PackageJson): string | undefined {
  if (!hasScript(pkg, 'build')) return undefined;
  // React Router's SPA mode (ssr: false) builds with Vite too, into build/client
  if (dependsOn(pkg, '@react-router/dev')) return 'build/client';
  return dependsOn(pkg, 'vite') ? 'dist' : undefined;
}

/** package.json files of the root and every workspace, so each workspace's dependencies are installed. */
function manifests(src: SourceTree, pkg: PackageJson): { files: string[]; line?: string; devDependencies: boolean } {
  const globs = workspaceGlobs(src, pkg);
  const files = ['package.json', ...(globs.length > 0 ? workspaceManifests(src, globs) : [])];
  // each is read now, so a broken workspace manifest is named here rather than mid-install
  const devDependencies = files.some((f) => Object.keys(readPackageJson(src, f).devDependencies ?? {}).length > 0);
  const count = files.length - 1;
  return {
    files,
    devDependencies,
    ...(globs.length > 0
      ? { line: `workspaces: ${globs.join(', ')} (${count} package${count === 1 ? '' : 's'})` }
      : {}),
  };
}

/** Node over the stack when needed, and the global tools; engines.npm over an installed Node replaces its npm. */
function runtimeTools(node: NodeChoice, pm: PackageManagerChoice) {
  const npmSpec = pm.globalInstalls.find((g) => g.startsWith('npm@'));
  const installNode = node.installNode && { ...node.installNode, ...(npmSpec ? { npm: npmSpec.slice(4) } : {}) };
  return {
    ...(installNode ? { installNode } : {}),
    globalInstalls: installNode ? pm.globalInstalls.filter((g) => g !== npmSpec) : pm.globalInstalls,
    lines: npmSpec ? [`npm ${npmSpec.slice(4)} (engines.npm or packageManager)`] : [],
  };
}

/** Install and build commands in Heroku's order; devDependencies only when a script needs them, then pruned. */
function commands(pm: PackageManagerChoice, scripts: ScriptPlan, devDependencies: boolean) {
  const production = !scripts.needsDevDependencies && pm.installProduction;
  const prune = !production && devDependencies && pm.prune ? [pm.prune] : [];
  return {
    install: [...scripts.prebuild, ...pm.beforeInstall, production || pm.installAll],
    build: [...pm.afterCopy, ...scripts.build, ...prune, ...scripts.cleanup],
  };
}

function planNode(src: SourceTree, ctx: DetectContext, processes: Record<string, string>): NodePlan {
  const pkg = readPackageJson(src);
  const node = chooseNode(pkg.engines?.node, ctx);
  const pm = choosePackageManager(src, pkg, node.npmVersion);
  const scripts = planScripts(pkg, pm);
  const workspaces = manifests(src, pkg);
  const secrets = installSecrets(src);
  const tools = runtimeTools(node, pm);
  const framework = detectFramework(pkg, pm);
  const start = processes.web ?? framework.web ?? defaultWeb(src, pkg, pm);
  const spaRoot = start ? undefined : singlePageRoot(pkg);
  const web = start ?? (spaRoot ? `node ${STATIC_SERVER_BIN} /app/${spaRoot} --spa` : undefined);
  const summary = [
    node.line,
    ...tools.lines,
    ...pm.lines,
    ...(workspaces.line ? [workspaces.line] : []),
    ...scripts.lines,
    ...framework.lines,
    ...(workspaces.devDependencies && pm.cannotPrune ? [pm.cannotPrune] : []),
    ...(secrets.length > 0 ? [`install reads ${secrets.join(', ')} (config vars, kept out of the image)`] : []),
    spaRoot
      ? `no start command: serving the built ${spaRoot}/ as a single-page app (index.html for client-side routes)`
      : web
        ? `web: ${web}${processes.web ? ' (Procfile)' : ''}`
        : 'no start command found: add a "start" script or a Procfile with a web process',
  ];
  const layerFiles = [...workspaces.files, ...pm.installFiles, '.npmrc'].filter((f) => f.endsWith('/') || src.has(f));
  return {
    buildpack: 'node',
    summary,
    baseImages: [node.stackImage],
    processes: { ...processes, ...(web ? { web } : {}) },
    stackImage: node.stackImage,
    ...(tools.installNode ? { installNode: tools.installNode } : {}),
    packageManager: pm.packageManager,
    globalInstalls: tools.globalInstalls,
    manifestFiles: scripts.installNeedsSource ? [] : layerFiles,
    ...commands(pm, scripts, workspaces.devDependencies),
    installSecrets: secrets,
    ...(spaRoot ? { spaRoot } : {}),
    ...(framework.env ? { env: framework.env } : {}),
  };
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
