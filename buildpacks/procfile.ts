import { GENERIC_STACK } from './stack-recipes.ts';
import { type Buildpack, BuildpackError } from './types.ts';

const TYPE_NAME = '[A-Za-z0-9_-]{1,63}';
const PROCESS_LINE = new RegExp(`^(${TYPE_NAME}):\\s*(.*)$`);

/**
 * A process type name: lower-case letters, digits, `_` and `-`, and not a name every object
 * already has (`__proto__`, `constructor`, `prototype`): types are keys of plain objects.
 */
export function isProcessType(name: unknown): boolean {
  return (
    typeof name === 'string' && /^[a-z0-9_-]{1,63}$/.test(name) && !(name in Object.prototype) && name !== 'prototype'
  );
}

export interface Procfile {
  /** Process type → command, in file order. */
  processes: Record<string, string>;
  /** Lines that are not `name: command`, said in the build log and skipped (as Heroku and Dokku do). */
  skipped: string[];
}

/** The command without a trailing ` # comment`; a `#` inside quotes or a word is part of the command. */
function withoutComment(command: string): string {
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && /\s/.test(command[i - 1] ?? '')) return command.slice(0, i).trimEnd();
  }
  return command;
}

/** `name: command` lines; blank lines and `#` comments are skipped, so is any other line (reported). */
export function parseProcfile(text: string): Procfile {
  const processes: Record<string, string> = {};
  const skipped: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = PROCESS_LINE.exec(line);
    const command = match ? withoutComment(match[2]!.trim()) : '';
    if (!match || command === '') {
      skipped.push(`Procfile line ${index + 1} is not "name: command", skipped: ${JSON.stringify(line.slice(0, 80))}`);
      return;
    }
    const name = match[1]!.toLowerCase();
    if (!isProcessType(name)) {
      skipped.push(`Procfile line ${index + 1}: "${name}" cannot be a process type, skipped`);
      return;
    }
    if (name in processes) skipped.push(`Procfile line ${index + 1} defines "${name}" again; this line wins`);
    processes[name] = command;
  });
  if (Object.keys(processes).length === 0 && text.trim() !== '') {
    throw new BuildpackError(
      'PROCFILE_INVALID',
      `the Procfile has no valid "name: command" line:\n${skipped.join('\n')}`,
    );
  }
  return { processes, skipped };
}

/** A Procfile alone: apps that run as they are on the generic stack (Node.js, python3, perl, the usual tools). */
export const procfileBuildpack: Buildpack = {
  name: 'procfile',
  title: 'Procfile',
  describe: 'Procfile: a Procfile and nothing else to build',
  detect(src, _ctx, processes) {
    if (!src.has('Procfile')) return null;
    if (Object.keys(processes).length === 0) {
      throw new BuildpackError(
        'PROCFILE_INVALID',
        'the Procfile is empty, and nothing else in the source says how to start the app',
      );
    }
    const stackImage = GENERIC_STACK;
    return {
      buildpack: 'procfile',
      summary: [`Procfile processes: ${Object.keys(processes).join(', ')}`, `stack ${stackImage}`],
      baseImages: [stackImage],
      processes,
      stackImage,
    };
  },
};
