import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BuildPlan,
  BuildpackError,
  buildFilesFor,
  buildpacks,
  type DetectContext,
  detect,
  explainDetection,
  STACK_RECIPES,
  stackRecipe,
} from '../../buildpacks/index.ts';
import { fixtureTree } from '../helpers/fixture-tree.ts';
import { FIXTURES } from '../helpers/git.ts';

const ctx: DetectContext = {
  nodeStacks: [{ image: 'widemesh/stack-node:22', nodeVersion: '22.23.3' }],
  publishedNodeVersions: [],
};
const fixture = (name: string, overrides?: Record<string, string | null>) =>
  fixtureTree(path.join(FIXTURES, name), overrides);
const plan = (name: string, overrides?: Record<string, string | null>) => detect(fixture(name, overrides), ctx);
const dockerfile = (p: BuildPlan) => buildFilesFor(p).files['.widemesh/Dockerfile'] ?? '';

function detectError(name: string, overrides?: Record<string, string | null>): BuildpackError {
  try {
    detect(fixture(name, overrides), ctx);
  } catch (err) {
    if (err instanceof BuildpackError) return err;
    throw err;
  }
  throw new Error('expected a BuildpackError');
}

const LANGUAGE_FIXTURES = [
  'php-plain',
  'php-composer-public',
  'php-composer-path',
  'python-stdlib',
  'python-no-requirements',
  'python-django',
  'python-pipfile',
  'python-pyproject',
  'python-procfile-only',
  'python-bad-requirements',
  'go-hello',
  'go-cmd',
  'go-heroku-install',
];

describe('detection order: Dockerfile, then languages (Heroku order), then static, then a Procfile alone', () => {
  // each row: the marker files of a source (on an empty tree) → the buildpack that plans it
  const rows: [Record<string, string>, BuildPlan['buildpack']][] = [
    [{ Dockerfile: 'FROM widemesh/stack-base:bookworm\n', 'composer.json': '{}' }, 'dockerfile'],
    [{ Dockerfile: 'FROM widemesh/stack-base:bookworm\n', 'requirements.txt': '', Procfile: 'web: x' }, 'dockerfile'],
    [{ Dockerfile: 'FROM widemesh/stack-base:bookworm\n', 'go.mod': 'module a\n' }, 'dockerfile'],
    [{ 'package.json': '{}', 'composer.json': '{}' }, 'node'],
    [{ 'requirements.txt': '', 'composer.json': '{}', Procfile: 'web: python3 a.py' }, 'python'],
    [{ 'composer.json': '{}', 'go.mod': 'module a\n' }, 'php'],
    [{ 'index.php': '<?php', 'index.html': '<h1>' }, 'php'],
    [{ 'go.mod': 'module a\n', 'main.go': 'package main', 'index.html': '<h1>' }, 'go'],
    [{ 'pyproject.toml': '', Procfile: 'web: python3 -m app' }, 'python'],
    [{ 'setup.py': '', Procfile: 'web: python3 -m app' }, 'python'],
    [{ 'app.py': '', Procfile: 'web: python3 app.py' }, 'python'],
    [{ serve: '', Procfile: 'web: python3 serve' }, 'procfile'],
    [{ 'index.html': '<h1>', Procfile: 'web: python3 -m http.server $PORT' }, 'static'],
  ];
  it.each(rows)('%o → %s', (files, expected) => {
    expect(plan('empty', files).buildpack).toBe(expected);
  });
});

describe('a Procfile overrides the start command for every language', () => {
  const apps = ['node-express-npm', 'static-site', 'dockerfile-app', 'procfile-shell', ...LANGUAGE_FIXTURES];
  it.each(apps)('%s', (name) => {
    const p = plan(name, { Procfile: 'web: ./custom-start --port $PORT\nworker: ./jobs\n' });
    expect(p.processes).toMatchObject({ web: './custom-start --port $PORT', worker: './jobs' });
    if (p.buildpack !== 'dockerfile')
      expect(dockerfile(p)).toContain('CMD ["/bin/sh","-c","./custom-start --port $PORT"]');
  });
});

describe('PHP', () => {
  it('serves with nginx and php-fpm, the document root from composer.json extra, public/ or web/, else the root', () => {
    expect(plan('php-composer-public').processes.web).toBe('heroku-php-nginx public/');
    expect(plan('php-plain', { Procfile: null }).processes.web).toBe('heroku-php-nginx .');
    expect(plan('php-plain', { Procfile: null, 'web/app.php': '<?php' }).processes.web).toBe('heroku-php-nginx web/');
    const extra = JSON.stringify({ extra: { heroku: { 'document-root': './htdocs/' } } });
    expect(plan('php-composer-public', { 'composer.json': extra }).processes.web).toBe('heroku-php-nginx htdocs/');
    const index = JSON.stringify({ extra: { heroku: { 'document-root': 'web', 'index-document': 'app.php' } } });
    expect(plan('php-plain', { 'composer.json': index, Procfile: null }).processes.web).toBe(
      'WIDEMESH_PHP_INDEX=app.php heroku-php-nginx web/',
    );
    const badIndex = JSON.stringify({ extra: { heroku: { 'index-document': '$(reboot).php' } } });
    expect(detectError('php-plain', { 'composer.json': badIndex, Procfile: null }).code).toBe('PHP_INDEX_INVALID');
    const outside = JSON.stringify({ extra: { heroku: { 'document-root': '../etc' } } });
    expect(detectError('php-plain', { 'composer.json': outside }).code).toBe('PHP_DOCUMENT_ROOT_INVALID');
  });

  it('maps ext-* to Debian packages: built in, in the stack, added, or refused by name', () => {
    const require = (extensions: string[]) =>
      JSON.stringify({ require: Object.fromEntries(extensions.map((e) => [`ext-${e}`, '*'])) });
    const packages = (extensions: string[]) =>
      (plan('php-plain', { 'composer.json': require(extensions) }) as { extensionPackages: string[] })
        .extensionPackages;
    expect(packages(['json', 'ctype', 'pdo', 'mbstring', 'pdo_mysql', 'zend-opcache', 'dom'])).toEqual([]);
    expect(packages(['redis', 'yaml', 'pdo_odbc', 'Imagick'])).toEqual([
      'php8.2-imagick',
      'php8.2-odbc',
      'php8.2-redis',
      'php8.2-yaml',
    ]);
    const unknown = detectError('php-plain', { 'composer.json': require(['mbstring', 'nosuchext']) });
    expect(unknown.code).toBe('PHP_EXTENSION_UNKNOWN');
    expect(unknown.message).toContain('"nosuchext" (ext-nosuchext)');
  });

  it('runs Composer only when composer.json requires something, with composer.lock when there is one', () => {
    expect(plan('php-plain', { 'composer.json': '{}' })).toMatchObject({ manifestFiles: [] });
    expect(dockerfile(plan('php-plain', { 'composer.json': '{}' }))).not.toContain('composer install');
    expect(plan('php-composer-public', { 'composer.lock': '{}' })).toMatchObject({
      manifestFiles: ['composer.json', 'composer.lock'],
    });
  });

  it('refuses a php constraint this stack cannot meet, and invalid composer.json', () => {
    const php = (constraint: string) => JSON.stringify({ require: { php: constraint } });
    for (const ok of ['>=8.1', '^8.0', '~8.2.0', '8.2.*', '^7.4|^8.0', '>=7.4, <8.3'])
      expect(plan('php-plain', { 'composer.json': php(ok) }).buildpack).toBe('php');
    for (const bad of ['^7.4', '8.3.*', '>=8.3']) {
      const err = detectError('php-plain', { 'composer.json': php(bad) });
      expect(err.code).toBe('PHP_VERSION_UNAVAILABLE');
      expect(err.message).toContain(`"${bad}"`);
    }
    expect(detectError('php-plain', { 'composer.json': '{ "require": ' }).code).toBe('COMPOSER_JSON_INVALID');
  });
});

describe('PHP: Composer path repositories', () => {
  it('copies the path repositories in before the install, globs expanded to the packages that exist', () => {
    const paths = plan('php-composer-path');
    expect(paths).toMatchObject({ pathRepositories: ['packages/greeter'] });
    expect(paths.summary).toContain('path repositories installed with the dependencies: packages/greeter');
    const text = dockerfile(paths);
    expect(text.indexOf('COPY ["packages/greeter","/app/packages/greeter/"]')).toBeLessThan(
      text.indexOf('RUN composer install'),
    );
    const composerJson = (repositories: unknown) =>
      JSON.stringify({ require: { 'widemesh/greeter': '*' }, repositories });
    const named = plan('php-composer-path', {
      'composer.json': composerJson({ local: { type: 'path', url: './packages/greeter/' } }),
    });
    expect(named).toMatchObject({ pathRepositories: ['packages/greeter'] });
    const outside = plan('php-composer-path', {
      'composer.json': composerJson([
        { type: 'path', url: '../shared/*' },
        { type: 'vcs', url: 'packages/greeter' },
      ]),
    });
    expect(outside).toMatchObject({ pathRepositories: [] });
  });
});

describe('Python', () => {
  it('honours .python-version and runtime.txt for the version Debian has, and names it otherwise', () => {
    expect(plan('python-stdlib', { 'runtime.txt': 'python-3.11.4\n', '.python-version': null }).summary[0]).toBe(
      'Python 3.11 (runtime.txt)',
    );
    const newer = detectError('python-stdlib', { '.python-version': '3.12\n' });
    expect(newer.code).toBe('PYTHON_VERSION_UNAVAILABLE');
    expect(newer.message).toMatch(/asks for Python 3\.12, but this server has Python 3\.11/);
    expect(detectError('python-stdlib', { '.python-version': null, 'runtime.txt': 'python-2.7.18' }).message).toMatch(
      /runtime\.txt asks for Python 2\.7\.18.*change runtime\.txt to python-3\.11/,
    );
    expect(detectError('python-stdlib', { '.python-version': 'pypy3' }).code).toBe('PYTHON_VERSION_INVALID');
  });

  it('starts Django with gunicorn when both are required, and otherwise needs a web process, said after the build', () => {
    expect(plan('python-django').processes.web).toBe('gunicorn mysite.wsgi');
    expect(plan('python-django')).not.toHaveProperty('noWebProcess');
    const withoutGunicorn = plan('python-django', { 'requirements.txt': 'Django==4.2\n' });
    expect(withoutGunicorn).toMatchObject({ noWebProcess: /no web process: add a Procfile/ });
    const workerOnly = plan('python-stdlib', { Procfile: 'worker: python app.py\n' });
    expect(workerOnly).toMatchObject({ processes: { worker: 'python app.py' }, noWebProcess: /add a Procfile/ });
  });

  it('builds an app without a web process (pip runs first, with its own errors), as Heroku does', () => {
    const broken = plan('python-bad-requirements');
    expect(broken).toMatchObject({ install: 'pip install -r requirements.txt', processes: {} });
    expect(broken.summary).toContain(
      'web: none yet (the build runs first, as on Heroku; a missing web process is reported after it)',
    );
    expect(dockerfile(broken)).toContain('RUN pip install -r requirements.txt');
  });

  it('installs requirements.txt, else Pipfile.lock, else the project itself', () => {
    expect(plan('python-stdlib')).toMatchObject({ install: 'pip install -r requirements.txt' });
    expect(plan('python-pipfile')).toMatchObject({ manifestFiles: ['Pipfile', 'Pipfile.lock'] });
    expect(detectError('python-pipfile', { 'Pipfile.lock': null }).code).toBe('PIPFILE_LOCK_MISSING');
    const project = plan('python-no-requirements', { 'pyproject.toml': '[project]\nname = "x"\n' });
    expect(project).toMatchObject({ manifestFiles: [], installProject: 'pip install --no-build-isolation .' });
    expect(dockerfile(project).indexOf('RUN pip install --no-build-isolation .')).toBeGreaterThan(
      dockerfile(project).indexOf('COPY . .'),
    );
  });
});

describe('Go', () => {
  it('runs the root main package by the module name, or the one main package, else the one named web', () => {
    expect(plan('go-hello').processes.web).toBe('bin/hello');
    expect(plan('go-cmd', { Procfile: null, 'cmd/worker/main.go': null }).processes).toEqual({ web: 'bin/web' });
    const several = detectError('go-cmd', {
      Procfile: null,
      'cmd/web/main.go': null,
      'cmd/api/main.go': 'package main\n',
    });
    expect(several.code).toBe('GO_NO_WEB_PROCESS');
    expect(several.message).toContain('bin/api, bin/worker');
    expect(plan('go-cmd', { 'main.go': 'package main\n', 'cmd/worker/main.go': null }).summary).toContain(
      'binaries: bin/tools, bin/web',
    );
  });

  it('makes each of several main packages a process type, web the one named web, as Heroku does', () => {
    expect(plan('go-cmd', { Procfile: null, 'cmd/release/main.go': 'package main\n' }).processes).toEqual({
      web: 'bin/web',
      worker: 'bin/worker',
    });
    expect(plan('go-cmd', { Procfile: 'web: bin/web -verbose\n' }).processes).toEqual({
      web: 'bin/web -verbose',
      worker: 'bin/worker',
    });
  });

  it("builds with -tags heroku the packages go.mod's `// +heroku install` names", () => {
    const installed = plan('go-heroku-install');
    expect(installed).toMatchObject({ packages: ['./cmd/...'], processes: { web: 'bin/web', worker: 'bin/worker' } });
    expect(installed.summary).toContain('binaries: bin/web, bin/worker');
    expect(dockerfile(installed)).toContain('go build -tags heroku -o /out/bin/ ./cmd/...');
    const two = plan('go-heroku-install', {
      'go.mod': 'module m\n// +heroku install ./cmd/web ./tools/...\ngo 1.19\n',
    });
    expect(two.summary).toContain('binaries: bin/gen, bin/web');
    expect(plan('go-cmd')).toMatchObject({ packages: ['./...'] });
  });

  it('refuses a go directive newer than the toolchain, naming both versions', () => {
    for (const [directive, named] of [
      ['1.20', 'go 1.20'],
      ['1.21.0', 'go 1.21'],
      ['2.0', 'go 2.0'],
    ]) {
      const err = detectError('go-hello', { 'go.mod': `module example.com/hello\n\ngo ${directive}\n` });
      expect(err.code).toBe('GO_VERSION_UNSUPPORTED');
      expect(err.message).toContain(`go.mod asks for ${named}, but this server's Go toolchain is go 1.19`);
    }
    expect(plan('go-hello', { 'go.mod': 'module example.com/hello\n\ngo 1.16\n' }).buildpack).toBe('go');
    expect(detectError('go-hello', { 'go.mod': 'go 1.19\n' }).code).toBe('GO_MOD_INVALID');
  });

  it('builds in the toolchain image and runs on the base stack; vendored modules download nothing', () => {
    const text = dockerfile(plan('go-hello'));
    expect(text).toMatch(/^FROM widemesh\/stack-go:1\.19 AS build$/m);
    expect(text).toMatch(/^FROM widemesh\/stack-base:bookworm$/m);
    expect(plan('go-hello').baseImages).toEqual(['widemesh/stack-go:1.19', 'widemesh/stack-base:bookworm']);
    expect(dockerfile(plan('go-hello', { 'vendor/modules.txt': '' }))).not.toContain('go mod download');
  });
});

describe('generated Dockerfiles of the language buildpacks', () => {
  it.each(LANGUAGE_FIXTURES)('matches the snapshot for %s', async (name) => {
    await expect(dockerfile(plan(name))).toMatchFileSnapshot(`./__snapshots__/dockerfiles/${name}.Dockerfile`);
  });

  // a code-only change leaves everything before `COPY . .` (the dependency install) byte for byte the same
  it.each([
    ['php-composer-public', 'src/Greeter.php', 'RUN composer install'],
    ['python-stdlib', 'app.py', 'RUN pip install -r requirements.txt'],
    ['python-pipfile', 'app.py', 'pip install -r /tmp/requirements.txt'],
    ['go-hello', 'main.go', 'RUN go mod download'],
  ])('%s keeps its dependency layer when only %s changes', (name, codeFile, install) => {
    const beforeCode = (text: string) => text.slice(0, text.indexOf('COPY . .'));
    const original = dockerfile(plan(name));
    const changed = dockerfile(plan(name, { [codeFile]: 'package main // changed', 'lib/new.txt': 'new' }));
    expect(beforeCode(changed)).toBe(beforeCode(original));
    expect(beforeCode(original)).toContain(install);
  });
});

describe('stack recipes', () => {
  it('has a recipe for every stack a language plan needs, each built from the base or a Node stack', () => {
    const needed = LANGUAGE_FIXTURES.flatMap((name) => plan(name).baseImages);
    for (const image of needed)
      expect(stackRecipe(image) ?? image, image).toSatisfy(
        (r: unknown) => typeof r === 'object' || r === 'widemesh/stack-base:bookworm',
      );
    for (const recipe of STACK_RECIPES) {
      expect(recipe.dockerfile).toMatch(/^FROM widemesh\/stack-(base:bookworm|node:\d+)\n/);
      for (const file of Object.keys(recipe.files)) expect(recipe.dockerfile).toContain(`COPY ${file} `);
    }
    expect(new Set(STACK_RECIPES.map((r) => r.image)).size).toBe(STACK_RECIPES.length);
  });
});

describe('explaining a detection', () => {
  it('says what each buildpack made of the source, up to the one that decided', () => {
    const explained = explainDetection(fixture('go-hello'), ctx, buildpacks);
    expect(explained.plan?.buildpack).toBe('go');
    expect(explained.steps.map((s) => [s.buildpack, s.outcome])).toEqual([
      ['dockerfile', 'skipped'],
      ['node', 'skipped'],
      ['python', 'skipped'],
      ['php', 'skipped'],
      ['go', 'matched'],
      ['static', 'not tried'],
      ['procfile', 'not tried'],
    ]);
    const refused = explainDetection(
      fixture('php-plain', { 'composer.json': '{"require":{"ext-nope":"*"}}' }),
      ctx,
      buildpacks,
    );
    expect(refused.error?.code).toBe('PHP_EXTENSION_UNKNOWN');
    expect(refused.steps.find((s) => s.buildpack === 'php')).toMatchObject({ outcome: 'refused' });
    expect(explainDetection(fixture('empty'), ctx, buildpacks).error?.code).toBe('NO_BUILDPACK_DETECTED');
  });
});
