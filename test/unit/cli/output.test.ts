import { describe, expect, it } from 'vitest';
import { printable, show, table } from '../../../cli/output.ts';
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

  it('drops every terminal control sequence from text it did not write, keeping tabs and newlines', () => {
    const cases: [string, string][] = [
      ['\x1b]8;;http://evil.example/\x07link\x1b]8;;\x1b\\ end', 'link end'], // OSC 8 hyperlink, BEL or ST
      ['\x1b]0;owned title\x07x', 'x'],
      ['\x1b[2J\x1b[1;1H\x1b[?25l\x1b[38;5;196mred\x1b[m', 'red'], // CSI: clear, move, hide cursor, colour
      ['\x9b31m8-bit\x9d0;t\x9c', '8-bit'], // C1 CSI and OSC
      ['\x1bPq#0;2;0;0;0\x1b\\dcs', 'dcs'], // DCS (sixel)
      ['\x1b7\x1bc\x1b(0keep', 'keep'], // save cursor, reset, charset
      ['bell\x07 back\bspace\r\x00\x7f', 'bell backspace'],
      ['tab\tand\nnewline é ✓', 'tab\tand\nnewline é ✓'],
      ['unterminated \x1b]8;;http://evil.example/', 'unterminated '],
    ];
    for (const [text, shown] of cases) expect(printable(text)).toBe(shown);
  });
});
