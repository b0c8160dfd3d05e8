import type { SourceTree } from '../types.ts';
import type { PackageJson } from './package-json.ts';

/** The `packages:` list of a pnpm-workspace.yaml (a block list of strings, as pnpm documents it). */
function pnpmWorkspaceGlobs(yaml: string): string[] {
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split(/\r?\n/)) {
    if (/^\S/.test(line)) inPackages = /^packages\s*:/.test(line);
    const item = inPackages ? /^\s+-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line) : null;
    if (item?.[1]) globs.push(item[1]);
  }
  return globs;
}

/** Workspace globs from package.json `workspaces` (npm, yarn) or pnpm-workspace.yaml. */
export function workspaceGlobs(src: SourceTree, pkg: PackageJson): string[] {
  const pnpm = src.readText('pnpm-workspace.yaml');
  if (pnpm !== undefined) return pnpmWorkspaceGlobs(pnpm);
  const declared = Array.isArray(pkg.workspaces) ? pkg.workspaces : (pkg.workspaces?.packages ?? []);
  return declared.filter((g): g is string => typeof g === 'string');
}

/** A workspace glob as a regular expression over folder paths: `*` is one folder level, `**` any depth. */
function globToRegExp(glob: string): RegExp {
  const clean = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  const pattern = clean
    .split('/')
    .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')))
    .join('/');
  return new RegExp(`^${pattern}$`);
}

/** The package.json of every workspace the globs name (`!glob` excludes), never inside node_modules. */
export function workspaceManifests(src: SourceTree, globs: string[]): string[] {
  const include = globs.filter((g) => !g.startsWith('!')).map(globToRegExp);
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => globToRegExp(g.slice(1)));
  return src
    .list()
    .filter((f) => f.endsWith('/package.json') && !f.split('/').includes('node_modules'))
    .filter((f) => {
      const dir = f.slice(0, -'/package.json'.length);
      return include.some((r) => r.test(dir)) && !exclude.some((r) => r.test(dir));
    })
    .sort();
}
