import { describe, expect, it } from 'vitest';
import { show, table } from '../../../cli/output.ts';
import { fakeCli } from './fake-context.ts';

describe('output', () => {
  it('lays out tables under upper-case titles, padded, without trailing blanks', () => {
    const rows = [
      { name: 'shop', release: 12, note: null },
      { name: 'a', release: 3, note: 'x' },
    ];
    const text = table(rows, { name: (r) => r.name, release: (r) => `v${r.release}`, note: (r) => r.note });
    expect(text).toBe(['NAME  RELEASE  NOTE', 'shop  v12', 'a     v3       x'].join('\n'));
  });

  it('--json prints the answer as it is, otherwise the human form', () => {
    const cli = fakeCli();
    show(cli.ctx.io, true, { a: [1] }, () => 'human');
    show(cli.ctx.io, undefined, { a: [1] }, () => 'human');
    expect(cli.stdout()).toBe('{\n  "a": [\n    1\n  ]\n}\nhuman\n');
  });
});
