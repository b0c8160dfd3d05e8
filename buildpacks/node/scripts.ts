import type { SourceTree } from '../types.ts';
import { hasScript, type PackageJson } from './package-json.ts';
import type { PackageManagerChoice } from './package-managers.ts';

/** npm runs these during the install itself, with whatever source is there: they need all of it. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

export interface ScriptPlan {
  lines: string[];
  prebuild: string[];
  build: string[];
  cleanup: string[];
  /** devDependencies are installed for the build (then pruned), as Heroku does. */
  needsDevDependencies: boolean;
  /** The dependency layer holds the whole source (install-time scripts may read any file). */
  installNeedsSource: boolean;
}

/** Heroku's order: heroku-prebuild, install, heroku-postbuild instead of build (or build), prune, heroku-cleanup. */
export function planScripts(pkg: PackageJson, pm: PackageManagerChoice): ScriptPlan {
  const run = (name: string) => `${pm.run} ${name}`;
  const lines: string[] = [];
  const prebuild = hasScript(pkg, 'heroku-prebuild');
  const build = hasScript(pkg, 'heroku-postbuild') ? 'heroku-postbuild' : hasScript(pkg, 'build') ? 'build' : null;
  const cleanup = hasScript(pkg, 'heroku-cleanup');
  if (prebuild) lines.push('heroku-prebuild before the install');
  if (build === 'heroku-postbuild' && hasScript(pkg, 'build')) lines.push('heroku-postbuild instead of build');
  else if (build) lines.push(`${build} script: ${pkg.scripts![build]}`);
  if (cleanup) lines.push('heroku-cleanup after pruning');
  const installScripts = INSTALL_SCRIPTS.filter((s) => hasScript(pkg, s));
  const installNeedsSource = prebuild || installScripts.length > 0;
  if (installNeedsSource)
    lines.push(
      `install layer holds the whole source (${[...(prebuild ? ['heroku-prebuild'] : []), ...installScripts].join(', ')} may read it)`,
    );
  return {
    lines,
    prebuild: prebuild ? [run('heroku-prebuild')] : [],
    build: build ? [run(build)] : [],
    cleanup: cleanup ? [run('heroku-cleanup')] : [],
    needsDevDependencies: build !== null || prebuild || cleanup,
    installNeedsSource,
  };
}

/** Config vars the install expands: `${VAR}` in .npmrc (npm, yarn 1, pnpm) or .yarnrc.yml (yarn 2+). */
export function installSecrets(src: SourceTree): string[] {
  const text = ['.npmrc', '.yarnrc.yml'].map((f) => src.readText(f) ?? '').join('\n');
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}
