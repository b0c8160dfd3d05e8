import { BuildpackError, type SourceTree } from './types.ts';

/** A JSON object file of the source (package.json, composer.json…); invalid JSON fails with `code` and the reason. */
export function readJsonObject<T extends object>(src: SourceTree, file: string, code: string): T {
  const text = src.readText(file) ?? '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it is not a JSON object');
    return parsed as T;
  } catch (err) {
    throw new BuildpackError(code, `${file} is not valid: ${(err as Error).message}`);
  }
}
