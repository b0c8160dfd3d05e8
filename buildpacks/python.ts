import { PYTHON_STACK, PYTHON_VERSION } from './stack-recipes.ts';
import { type Buildpack, BuildpackError, type PythonPlan, type SourceTree } from './types.ts';

const MARKERS = ['requirements.txt', 'pyproject.toml', 'Pipfile', 'setup.py'];

/** .python-version ("3.11", "3.11.4") or runtime.txt ("python-3.11.4"): honoured when it is the stack's minor. */
function checkPythonVersion(src: SourceTree): string {
  for (const file of ['.python-version', 'runtime.txt']) {
    const text = src.readText(file)?.trim();
    if (!text) continue;
    const asked = /^(?:python-)?(\d+\.\d+)(\.\d+)?\s*$/.exec(text.split(/\r?\n/)[0]!.trim());
    if (!asked) {
      throw new BuildpackError(
        'PYTHON_VERSION_INVALID',
        `${file} says "${text.slice(0, 40)}"; write a version like ${file === 'runtime.txt' ? 'python-' : ''}${PYTHON_VERSION}`,
      );
    }
    if (asked[1] !== PYTHON_VERSION) {
      throw new BuildpackError(
        'PYTHON_VERSION_UNAVAILABLE',
        `${file} asks for Python ${asked[1]}${asked[2] ?? ''}, but this server has Python ${PYTHON_VERSION} (Debian bookworm's); ` +
          `change ${file} to ${file === 'runtime.txt' ? 'python-' : ''}${PYTHON_VERSION}`,
      );
    }
    return `Python ${PYTHON_VERSION} (${file})`;
  }
  return `Python ${PYTHON_VERSION} (set .python-version to choose)`;
}

const listsAnything = (text: string | undefined) =>
  (text ?? '').split(/\r?\n/).some((l) => l.trim() !== '' && !l.trim().startsWith('#'));

/** How dependencies are installed, Heroku's order: requirements.txt, then Pipfile.lock, then the project itself. */
function installSteps(
  src: SourceTree,
): Pick<PythonPlan, 'manifestFiles' | 'install' | 'installProject'> & { line: string } {
  if (src.has('requirements.txt')) {
    const any = listsAnything(src.readText('requirements.txt'));
    return {
      manifestFiles: ['requirements.txt'],
      install: 'pip install -r requirements.txt',
      line: any ? 'pip install -r requirements.txt' : 'requirements.txt lists nothing: only the standard library',
    };
  }
  if (src.has('Pipfile')) {
    if (!src.has('Pipfile.lock'))
      throw new BuildpackError(
        'PIPFILE_LOCK_MISSING',
        'there is a Pipfile but no Pipfile.lock: run `pipenv lock` and commit it',
      );
    return {
      manifestFiles: ['Pipfile', 'Pipfile.lock'],
      install:
        'PIPENV_VERBOSITY=-1 pipenv requirements > /tmp/requirements.txt && pip install -r /tmp/requirements.txt',
      line: 'pip install of Pipfile.lock (pipenv requirements)',
    };
  }
  return {
    manifestFiles: [],
    installProject: 'pip install --no-build-isolation .',
    line: `pip install . (${src.has('pyproject.toml') ? 'pyproject.toml' : 'setup.py'}; installed with the code, not cached)`,
  };
}

const requires = (src: SourceTree, name: string) =>
  ['requirements.txt', 'Pipfile', 'pyproject.toml'].some((f) =>
    new RegExp(`^\\s*["']?${name}\\b`, 'im').test(src.readText(f) ?? ''),
  );

/** Django with gunicorn: `gunicorn PROJECT.wsgi`, PROJECT being the folder of the one wsgi.py next to a settings.py. */
function djangoWeb(src: SourceTree): string | undefined {
  if (!src.has('manage.py') || !requires(src, 'django') || !requires(src, 'gunicorn')) return undefined;
  const projects = src
    .list()
    .filter((f) => /^[A-Za-z_][A-Za-z0-9_]*\/wsgi\.py$/.test(f) && src.has(f.replace(/wsgi\.py$/, 'settings.py')))
    .map((f) => f.split('/')[0]!);
  return projects.length === 1 ? `gunicorn ${projects[0]}.wsgi` : undefined;
}

const NO_WEB = 'web: none yet (the build runs first, as on Heroku; a missing web process is reported after it)';
const NO_WEB_PROCESS =
  'no web process: add a Procfile with a line like "web: gunicorn myapp.wsgi" or "web: python3 app.py" ' +
  '(a Django app with gunicorn in requirements.txt gets "gunicorn PROJECT.wsgi" by default)';

const hasPythonEntry = (src: SourceTree) => src.list().some((f) => /^[^/]+\.py$/.test(f));

export const pythonBuildpack: Buildpack = {
  name: 'python',
  title: 'Python',
  describe: 'Python: a requirements.txt, pyproject.toml, Pipfile or setup.py (or a *.py file with a Procfile)',
  detect(src, _ctx, processes) {
    if (!MARKERS.some((f) => src.has(f)) && !(src.has('Procfile') && hasPythonEntry(src))) return null;
    const version = checkPythonVersion(src);
    const steps = MARKERS.some((f) => src.has(f))
      ? installSteps(src)
      : { manifestFiles: [], line: 'no requirements.txt: only the standard library' };
    const web = processes.web ?? djangoWeb(src);
    const { line, ...install } = steps;
    return {
      buildpack: 'python',
      summary: [
        version,
        line,
        web ? `web: ${web}${processes.web ? ' (Procfile)' : ' (Django with gunicorn)'}` : NO_WEB,
      ],
      baseImages: [PYTHON_STACK],
      processes: web ? { ...processes, web } : processes,
      ...(web ? {} : { noWebProcess: NO_WEB_PROCESS }),
      stackImage: PYTHON_STACK,
      ...install,
    };
  },
};

/**
 * The stack's venv (/opt/venv, outside /app: the source cannot shadow it) is first on PATH, so `python`,
 * `gunicorn`… are the venv's. The manifest COPY comes right after FROM: apps whose steps differ from there
 * on never share (and so never race for) a cached layer that the dependency layer hangs from.
 */
export function pythonDockerfile(plan: PythonPlan): string[] {
  return [
    `FROM ${plan.stackImage}`,
    ...(plan.install
      ? [
          '# dependencies first: a change to the code alone reuses this layer',
          `COPY ${JSON.stringify([...plan.manifestFiles, '/app/'])}`,
          'WORKDIR /app',
          `RUN ${plan.install}`,
        ]
      : ['WORKDIR /app']),
    'COPY . .',
    ...(plan.installProject ? [`RUN ${plan.installProject}`] : []),
  ];
}
