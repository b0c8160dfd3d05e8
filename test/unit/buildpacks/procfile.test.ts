import { describe, expect, it } from 'vitest';
import { parseProcfile } from '../../../buildpacks/procfile.ts';
import { BuildpackError } from '../../../buildpacks/types.ts';

describe('Procfile parsing (as Heroku and Dokku read it)', () => {
  it.each([
    [
      'CRLF, comments, blank lines',
      '# c\r\nweb: node a.js --port $PORT\r\n\r\nworker:   node w.js\n',
      { web: 'node a.js --port $PORT', worker: 'node w.js' },
    ],
    ['an inline comment after the command', 'web: node a.js # the server\n', { web: 'node a.js' }],
    ['a # inside quotes or a word', `web: echo "a # b" x#y 'c # d'\n`, { web: `echo "a # b" x#y 'c # d'` }],
    [
      'any process type name',
      'release: npm run migrate\nclock_2: node clock.js\n',
      { release: 'npm run migrate', clock_2: 'node clock.js' },
    ],
    ['upper-case types, lowered', 'Web: node a.js\n', { web: 'node a.js' }],
  ])('reads %s', (_what, text, processes) => {
    expect(parseProcfile(text).processes).toEqual(processes);
  });

  it('reports lines that are not "name: command" and skips them', () => {
    const { processes, skipped } = parseProcfile('web: ok\nnot a process line\nworker:\nweb: again\n');
    expect(processes).toEqual({ web: 'again' });
    expect(skipped).toEqual([
      'Procfile line 2 is not "name: command", skipped: "not a process line"',
      'Procfile line 3 is not "name: command", skipped: "worker:"',
      'Procfile line 4 defines "web" again; this line wins',
    ]);
  });

  it('skips process types every object already has as a key', () => {
    const { processes, skipped } = parseProcfile('__proto__: evil\nconstructor: evil\nweb: ok\n');
    expect(Object.getPrototypeOf(processes)).toBe(Object.prototype);
    expect(processes).toEqual({ web: 'ok' });
    expect(skipped).toEqual([
      'Procfile line 1: "__proto__" cannot be a process type, skipped',
      'Procfile line 2: "constructor" cannot be a process type, skipped',
    ]);
  });

  it('refuses a Procfile with no valid line, naming the lines', () => {
    expect(() => parseProcfile('we b: x\n')).toThrow(BuildpackError);
    expect(() => parseProcfile('we b: x\n')).toThrow(/no valid "name: command" line:\nProcfile line 1/);
  });
});
