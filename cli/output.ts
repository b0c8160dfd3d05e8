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

/** Writes one line to stdout. */
export const say = (io: Io, text: string): void => io.stdout(`${text}\n`);

/** `--json` prints the API's answer as it is; otherwise `human` renders it. */
export function show<D>(io: Io, json: boolean | undefined, data: D, human: (data: D) => string): void {
  say(io, json ? JSON.stringify(data, null, 2) : human(data));
}

/** Column title → how to get the cell from a row. */
export type Columns<R> = Record<string, (row: R) => unknown>;

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
