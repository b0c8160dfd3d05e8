import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { Source } from '../../../../server/build/source.ts';

describe('source archives', () => {
  const archive = (entries: Record<string, string>) => {
    const pack = tar.pack();
    for (const [name, text] of Object.entries(entries)) pack.entry({ name }, text);
    pack.finalize();
    return Readable.from(pack as unknown as AsyncIterable<Buffer>);
  };
  it('reads files and refuses paths that leave the tree or sources that are too big', async () => {
    const source = await Source.fromTar(archive({ 'package.json': '{}', './src/a.js': 'x' }), 1024);
    expect(source.list().sort()).toEqual(['package.json', 'src/a.js']);
    expect(source.readText('package.json')).toBe('{}');
    await expect(Source.fromTar(archive({ '../evil': 'x' }), 1024)).rejects.toThrow(/unsafe path/);
    await expect(Source.fromTar(archive({ big: 'x'.repeat(2000) }), 1024)).rejects.toThrow(/larger than/);
  });
});
