import { GENERIC_STACK } from './stack-recipes.ts';
import { type Buildpack, BuildpackError } from './types.ts';

const PROCESS_LINE = /^([A-Za-z0-9_-]+):\s*(.+)$/;

/** `name: command` lines; blank lines and `#` comments are skipped. */
export function parseProcfile(text: string): Record<string, string> {
  const processes: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = PROCESS_LINE.exec(line);
    if (!match) {
      throw new BuildpackError(
        'PROCFILE_INVALID',
        `Procfile line ${index + 1} is not "name: command": ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    const [, name, command] = match as unknown as [string, string, string];
    if (name in processes)
      throw new BuildpackError('PROCFILE_INVALID', `Procfile line ${index + 1} defines "${name}" a second time`);
    processes[name] = command.trim();
  });
  return processes;
}

/** A Procfile alone: apps that run as they are on the generic stack (Node.js, python3, perl, the usual tools). */
export const procfileBuildpack: Buildpack = {
  name: 'procfile',
  title: 'Procfile',
  describe: 'Procfile: a Procfile with a web process and nothing else to build',
  detect(src, _ctx, processes) {
    if (!src.has('Procfile')) return null;
    if (!processes.web)
      throw new BuildpackError(
        'PROCFILE_INVALID',
        'the Procfile has no web process, and nothing else in the source says how to start the app',
      );
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
