import { BuildpackError, type SourceTree } from '../types.ts';

export interface PackageJson {
  main?: string;
  scripts?: Record<string, string>;
  engines?: { node?: string; npm?: string; yarn?: string; pnpm?: string };
  packageManager?: string;
  workspaces?: string[] | { packages?: string[] };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** "line 3 column 5" for a character offset, so a person can find the mistake. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length} column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** A manifest as an object, or an error naming the file and where the JSON breaks. */
export function readPackageJson(src: SourceTree, path = 'package.json'): PackageJson {
  const text = src.readText(path) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    const where = position && !/line \d+/.test(message) ? ` (${lineAndColumn(text, Number(position[1]))})` : '';
    throw new BuildpackError('PACKAGE_JSON_INVALID', `${path} is not valid JSON: ${message}${where}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new BuildpackError('PACKAGE_JSON_INVALID', `${path} is not valid: it is not a JSON object`);
  return parsed as PackageJson;
}

export const hasScript = (pkg: PackageJson, name: string) => typeof pkg.scripts?.[name] === 'string';

/** Whether the app lists `name` in its dependencies or devDependencies. */
export const dependsOn = (pkg: PackageJson, name: string) =>
  name in (pkg.dependencies ?? {}) || name in (pkg.devDependencies ?? {});
