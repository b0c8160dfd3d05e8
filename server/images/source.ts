import path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { SourceTree } from '../../buildpacks/index.ts';
import { WidemeshError } from '../errors.ts';

/** Lockfiles of large apps run to several MiB, and buildpacks read them (versions, registry hosts). */
const MAX_TEXT_BYTES = 32 * 1024 * 1024;
const TAR_HEADER_BYTES = 512;

export interface SourceLimits {
  maxBytes: number;
  /** Entries (files, directories, links) the commit may hold. */
  maxFiles: number;
}

interface Entry {
  header: tar.Header;
  data: Buffer;
}

/** A pushed commit, held in memory: the build context for Docker and a SourceTree for buildpacks. */
export class Source implements SourceTree {
  private constructor(private readonly entries: Entry[]) {}

  /**
   * Reads a `git archive --format=tar` stream, refusing paths that leave the tree and sources
   * over the limits as soon as the entry that crosses them arrives (the rest is never read).
   */
  static async fromTar(stream: Readable, limits: SourceLimits): Promise<Source> {
    const extract = tar.extract();
    const entries: Entry[] = [];
    let total = 0;
    const done = new Promise<void>((resolve, reject) => {
      // a refused entry is drained, then next(error) ends the extraction with that error
      extract.on('entry', (header, body, next) => {
        total += TAR_HEADER_BYTES; // even an empty file costs its header, in memory and in Docker's context
        let refused = refusal(header.name, entries.length + 1, total, limits);
        const chunks: Buffer[] = [];
        body.on('data', (chunk) => {
          const c = chunk as Buffer;
          total += c.length;
          refused ??= refusal(header.name, entries.length + 1, total, limits);
          if (!refused) chunks.push(c);
        });
        body.on('end', () => {
          if (refused) return next(refused);
          const name = normalise(header.name);
          if (name) entries.push({ header: { ...header, name }, data: Buffer.concat(chunks) });
          next();
        });
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
      stream.on('error', reject);
    });
    stream.pipe(extract);
    await done;
    return new Source(entries);
  }

  list(): string[] {
    return this.entries.filter((e) => e.header.type === 'file').map((e) => e.header.name);
  }
  has(p: string): boolean {
    return this.entries.some((e) => e.header.name === p && e.header.type === 'file');
  }
  readText(p: string): string | undefined {
    const entry = this.entries.find((e) => e.header.name === p && e.header.type === 'file');
    return entry && entry.data.length <= MAX_TEXT_BYTES ? entry.data.toString('utf8') : undefined;
  }

  /** The Docker build context: the source plus generated files (which win over same-named source files). */
  context(extraFiles: Record<string, string>): Readable {
    const pack = tar.pack();
    for (const { header, data } of this.entries) {
      if (!(header.name in extraFiles)) pack.entry(header, data);
    }
    for (const [name, text] of Object.entries(extraFiles)) pack.entry({ name, mode: 0o644 }, text);
    pack.finalize();
    // tar-stream packs are streamx streams: Docker's client only needs pipe(), which they have
    return pack as unknown as Readable;
  }
}

/** Why an entry is refused: an unsafe path, or the source crossing a limit with it; undefined when it is fine. */
function refusal(rawName: string, files: number, bytes: number, limits: SourceLimits): WidemeshError | undefined {
  if (normalise(rawName) === null)
    return new WidemeshError(
      'SOURCE_INVALID',
      `the source archive contains an unsafe path: ${JSON.stringify(rawName)}`,
    );
  if (files > limits.maxFiles)
    return new WidemeshError(
      'SOURCE_TOO_MANY_FILES',
      `the source has more than ${limits.maxFiles} files and directories (WIDEMESH_MAX_SOURCE_FILES); remove generated or vendored files from the commit`,
    );
  if (bytes > limits.maxBytes)
    return new WidemeshError(
      'SOURCE_TOO_LARGE',
      `the source is larger than ${Math.round(limits.maxBytes / 1048576)} MiB (WIDEMESH_MAX_SOURCE_MB)`,
    );
  return undefined;
}

/** Relative posix path without './' or a trailing slash; null when it would escape the tree. */
function normalise(name: string): string | null {
  const clean = path.posix.normalize(name.replace(/^\.\//, '')).replace(/\/$/, '');
  if (clean === '.') return '';
  if (path.posix.isAbsolute(clean) || clean === '..' || clean.startsWith('../')) return null;
  return clean;
}
