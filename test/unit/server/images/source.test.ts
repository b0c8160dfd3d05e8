import { describe, expect, it } from 'vitest';
import { Source } from '../../../../server/images/source.ts';
import { tarOf } from '../../../helpers/tar.ts';

describe('source archives', () => {
  const archive = tarOf;
  const limits = { maxBytes: 4096, maxFiles: 10 };
  it('reads files and refuses paths that leave the tree or sources that are too big', async () => {
    const source = await Source.fromTar(archive({ 'package.json': '{}', './src/a.js': 'x' }), limits);
    expect(source.list().sort()).toEqual(['package.json', 'src/a.js']);
    expect(source.readText('package.json')).toBe('{}');
    await expect(Source.fromTar(archive({ '../evil': 'x' }), limits)).rejects.toThrow(/unsafe path/);
    await expect(Source.fromTar(archive({ big: 'x'.repeat(5000) }), limits)).rejects.toThrow(/larger than/);
  });
  it('refuses a source with more files than allowed, even empty ones', async () => {
    const empty = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, '']));
    await expect(Source.fromTar(archive(empty), { maxBytes: 1 << 20, maxFiles: 10 })).rejects.toThrow(
      /more than 10 files .*WIDEMESH_MAX_SOURCE_FILES/,
    );
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, '']));
    expect((await Source.fromTar(archive(ten), { maxBytes: 1 << 20, maxFiles: 10 })).list()).toHaveLength(10);
  });
});
