/** Where commands write, and the two ways they show data: a table for people, JSON for scripts. */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin (tokens, secrets and JSON are read from there, never from arguments). */
  stdin(): Promise<string>;
}

export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdin: async () => {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return text;
  },
};

/**
 * Terminal control sequences a server-sent text could carry, for a terminal to act on: CSI
 * (`ESC [ … final`, or 8-bit 0x9b), OSC/DCS/SOS/PM/APC strings up to their terminator (BEL or
 * `ESC \`), other escapes (`ESC` + intermediates + one final), and every other C0/C1 control
 * and DEL. Tab and newline stay.
 */
const CONTROLS = new RegExp(
  [
    String.raw`(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?`,
    String.raw`(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?`,
    String.raw`\x1b[\x20-\x2f]*[\x30-\x7e]?`,
    String.raw`[\x00-\x08\x0b-\x1f\x7f-\x9f]`,
  ].join('|'),
  'g',
);

/** Text from elsewhere (an app's log line) made safe to print: no control sequence reaches the terminal. */
export const printable = (text: string): string => text.replace(CONTROLS, '');

/** Writes one line to stdout. */
export const say = (io: Io, text: string): void => io.stdout(`${text}\n`);

/** `--json` prints the API's answer as it is; otherwise `human` renders it. */
export function show<D>(io: Io, json: boolean | undefined, data: D, human: (data: D) => string): void {
  say(io, json ? JSON.stringify(data, null, 2) : human(data));
}

/** Column title → how to get the cell from a row. */
type Columns<R> = Record<string, (row: R) => unknown>;

/** Left-aligned columns two spaces apart, under upper-case titles; missing values are blank. */
export function table<R>(rows: R[], columns: Columns<R>): string {
  const titles = Object.keys(columns);
  const cells = rows.map((row) => Object.values(columns).map((cell) => String(cell(row) ?? '')));
  const widths = titles.map((t, i) => Math.max(t.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(titles.map((t) => t.toUpperCase())), ...cells.map(line)].join('\n');
}

/** The first 7 characters of a commit, as git shows it. */
export const shortCommit = (commit: string | null | undefined): string => commit?.slice(0, 7) ?? '';
