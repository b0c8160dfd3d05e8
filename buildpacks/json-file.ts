import { type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
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

/**
 * JSON with `//` and `/* *\/` comments and trailing commas, as Dokku reads app.json; a real syntax
 * error throws with its line and column (1-based), e.g. "comma expected at line 3, column 5".
 */
export function parseJsonWithComments(text: string): unknown {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const { line, column } = lineAndColumn(text, first.offset);
    throw new Error(`${describeParseError(first)} at line ${line}, column ${column}`);
  }
  return tree && plainValueOf(tree);
}

/** A node's value as JSON.parse makes it: every key an own property, `__proto__` included (so checks see it). */
function plainValueOf(node: Node): unknown {
  if (node.type === 'array') return (node.children ?? []).map(plainValueOf);
  if (node.type !== 'object') return node.value;
  const object: Record<string, unknown> = {};
  for (const [key, value] of (node.children ?? []).map((property) => property.children ?? [])) {
    if (!key || !value) continue;
    Object.defineProperty(object, key.value as string, {
      value: plainValueOf(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** jsonc-parser's codes (`CommaExpected`) as words ("comma expected"). */
function describeParseError(error: ParseError): string {
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
