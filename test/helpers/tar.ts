import { Readable } from 'node:stream';
import tar from 'tar-stream';

/** A tar stream of `entries` (path → text), as `git archive` sends a commit. */
export function tarOf(entries: Record<string, string>): Readable {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(entries)) pack.entry({ name }, text);
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}
