import fs from 'node:fs';
import path from 'node:path';
import type { SourceTree } from '../../buildpacks/index.ts';

/** A SourceTree over a folder, with in-memory overrides (path → text, or null to delete). */
export function fixtureTree(dir: string, overrides: Record<string, string | null> = {}): SourceTree {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child), 'utf8'));
    }
  };
  walk('');
  for (const [p, text] of Object.entries(overrides)) {
    if (text === null) files.delete(p);
    else files.set(p, text);
  }
  return {
    list: () => [...files.keys()],
    has: (p) => files.has(p),
    readText: (p) => files.get(p),
  };
}
