import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_RECIPES, type StackRecipe } from '../../buildpacks/index.ts';
import { ImageBuilder } from '../../server/images/image-builder.ts';
import { RECIPE_LABEL, recipeDigest, stackState } from '../../server/images/stack-images.ts';
import { lineLog } from '../../server/logs/index.ts';
import { appRepo, commitAll, push, remoteUrl } from '../helpers/git.ts';
import { api, docker, request, startServer, type TestServer, viaRouter } from '../helpers/server.ts';

/** At most `n` deploy flows at once: the machine has two cores. */
function limit(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    while (active >= n) await new Promise<void>((r) => waiting.push(r));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/** Polls the app through the router until its body matches (a release switch is not instant for every rack). */
async function answerMatching(server: TestServer, app: string, pattern: RegExp, route = '/'): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const answer = await viaRouter(server, `${app}.localhost`, route).catch((err: Error) => ({ body: err.message }));
    last = answer.body;
    if (pattern.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${app} never answered ${pattern}; last answer: ${last}`);
}

/** The builder's line after `Step N/M : <instruction>`: " ---> Using cache" when the layer was reused. */
function stepOutcome(output: string, instruction: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^remote:\s*/, '').trim());
  const step = lines.findIndex((l) => /^Step \d+\/\d+ : /.test(l) && l.includes(instruction));
  if (step < 0) throw new Error(`no build step "${instruction}" in:\n${output}`);
  return lines.slice(step + 1).find((l) => l !== '') ?? '';
}

function edit(repo: string, file: string, change: (text: string) => string): void {
  const full = path.join(repo, file);
  fs.writeFileSync(full, change(fs.readFileSync(full, 'utf8')));
}

interface LanguageCase {
  fixture: string;
  app: string;
  detected: RegExp;
  /** The stack image the first push builds when this machine does not have it yet. */
  stack: string;
  v1: RegExp;
  /** A code-only change: v1 → v2. */
  codeFile?: string;
  /** The dependency step whose layer a code-only change reuses. */
  installStep?: string;
  /** Bad input that rejects the push while v2 keeps serving. */
  bad?: { file: string; change: (text: string) => string; message: RegExp };
}

const CASES: LanguageCase[] = [
  {
    fixture: 'php-plain',
    app: 'php-plain',
    detected: /PHP app detected/,
    stack: 'widemesh/stack-php:8.2',
    v1: /^hello from php-plain v1 \(PHP 8\.2, fpm-fcgi\)$/,
  },
  {
    fixture: 'php-composer-public',
    app: 'php-composer',
    detected: /PHP app detected/,
    stack: 'widemesh/stack-php:8.2',
    v1: /^hello from php-composer v1 yaml=ok path=\//,
    codeFile: 'src/Greeter.php',
    installStep: 'RUN composer install --no-dev --optimize-autoloader --no-interaction --no-scripts',
    bad: {
      file: 'composer.json',
      change: (t) => t.replace('"ext-yaml": "*"', '"ext-yaml": "*", "ext-nosuchext": "*"'),
      message: /PHP extension "nosuchext" \(ext-nosuchext\)/,
    },
  },
  {
    fixture: 'python-stdlib',
    app: 'python-stdlib',
    detected: /Python app detected/,
    stack: 'widemesh/stack-python:3.11',
    v1: /^hello from python v1 \(3\.11\.\d+, venv=\/opt\/venv\)$/,
    codeFile: 'app.py',
    installStep: 'RUN pip install -r requirements.txt',
    bad: {
      file: 'requirements.txt',
      change: () => 'widemesh-no-such-package==1.0\n',
      message: /No matching distribution found for widemesh-no-such-package==1\.0/,
    },
  },
  {
    fixture: 'python-no-requirements',
    app: 'python-bare',
    detected: /Python app detected/,
    stack: 'widemesh/stack-python:3.11',
    v1: /^hello from python v1 \(3\.11\.\d+, venv=\/opt\/venv\)$/,
  },
  {
    fixture: 'python-pipfile',
    app: 'python-pipenv',
    detected: /Python app detected/,
    stack: 'widemesh/stack-python:3.11',
    v1: /^hello from pipenv v1$/,
    codeFile: 'app.py',
    installStep: 'RUN PIPENV_VERBOSITY=-1 pipenv requirements',
  },
  {
    fixture: 'python-pyproject',
    app: 'python-pyproject',
    detected: /Python app detected/,
    stack: 'widemesh/stack-python:3.11',
    v1: /^hello from pyproject v1$/,
  },
  {
    fixture: 'python-procfile-only',
    app: 'procfile-python3',
    detected: /Procfile app detected/,
    stack: 'widemesh/stack-generic:bookworm',
    v1: /^hello from procfile-python3 v1$/,
  },
  {
    fixture: 'go-hello',
    app: 'go-hello',
    detected: /Go app detected/,
    stack: 'widemesh/stack-go:1.19',
    v1: /^hello from go v1 \(go1\.19\.\d+, page template\)$/,
    codeFile: 'main.go',
    installStep: 'RUN go mod download',
    bad: {
      file: 'go.mod',
      change: (t) => t.replace('go 1.19', 'go 1.22'),
      message: /go\.mod asks for go 1\.22, but this server's Go toolchain is go 1\.19/,
    },
  },
];

describe('PHP, Python and Go apps pushed with git, built with Docker, served through the router', () => {
  let server: TestServer;
  const slot = limit(3);
  const absentStacks = new Set<string>();
  const firstPushes: { stack: string; output: string }[] = [];

  beforeAll(async () => {
    for (const recipe of STACK_RECIPES)
      if ((await stackState(docker, recipe)) !== 'present') absentStacks.add(recipe.image);
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
    // the classic builder leaves the layers of failed builds and of Go's build stage untagged: they inherit the recipe label
    await docker.pruneImages({ filters: { dangling: ['true'], label: [RECIPE_LABEL] } });
  });

  for (const c of CASES) {
    it.concurrent(
      `${c.fixture}: deploys, gets its config vars${c.installStep ? ', reuses its dependency layer' : ''}${c.bad ? ', refuses bad input' : ''}`,
      { timeout: 900_000 },
      ({ expect }) =>
        slot(async () => {
          const repo = appRepo(c.fixture);
          const first = await push(repo, remoteUrl(server, c.app));
          expect(first.output).toMatch(c.detected);
          firstPushes.push({ stack: c.stack, output: first.output });
          expect(first.code, first.output).toBe(0);
          await answerMatching(server, c.app, c.v1);

          const config = await api(server, 'PATCH', `/api/apps/${c.app}/config`, { GREETING: 'howdy' });
          expect(config.status).toBe(200);
          await answerMatching(server, c.app, new RegExp(c.v1.source.replace('hello', 'howdy')));
          if (!c.codeFile || !c.installStep) return;

          edit(repo, c.codeFile, (t) => t.replaceAll('v1', 'v2'));
          // a file no earlier run had: the code layer cannot come from the cache of a previous run
          fs.writeFileSync(path.join(repo, 'build-id.txt'), `${process.pid}-${Date.now()}\n`);
          commitAll(repo, 'code only');
          const second = await push(repo, remoteUrl(server, c.app));
          expect(second.code, second.output).toBe(0);
          expect(stepOutcome(second.output, c.installStep)).toBe('---> Using cache');
          expect(stepOutcome(second.output, 'COPY . .')).not.toContain('Using cache');
          const v2 = new RegExp(c.v1.source.replace('hello', 'howdy').replace('v1', 'v2'));
          await answerMatching(server, c.app, v2);

          if (!c.bad) return;
          edit(repo, c.bad.file, c.bad.change);
          commitAll(repo, 'bad input');
          const rejected = await push(repo, remoteUrl(server, c.app));
          expect(rejected.code).not.toBe(0);
          expect(rejected.output).toMatch(c.bad.message);
          expect(rejected.output).toContain('pre-receive hook declined');
          await answerMatching(server, c.app, v2);
        }),
    );
  }

  it('built each stack that was missing exactly once, in the log of the first push that needed it', () => {
    for (const stack of absentStacks) {
      const built = firstPushes.filter((p) => p.output.includes(`Building stack image ${stack} (`));
      expect(built, stack).toHaveLength(1);
    }
  });

  it('serves the Composer app from public/ only: neither files above it nor dotfiles', async () => {
    await answerMatching(server, 'php-composer', /php-composer/);
    expect(await answerMatching(server, 'php-composer', /path=\/some\/route$/, '/some/route')).toContain('yaml=ok');
    for (const hidden of ['/../secret.txt', '/secret.txt', '/.htaccess', '/composer.json']) {
      const answer = await viaRouter(server, 'php-composer.localhost', hidden);
      expect(answer.body).not.toContain('never served');
      expect(answer.body).not.toContain('"require"');
    }
  });

  it('lists the stack images, and explains a detection without building', async () => {
    const stacks = await api(server, 'GET', '/api/stacks');
    expect(stacks.status).toBe(200);
    const state = (image: string) => stacks.json.find((s: { image: string }) => s.image === image)?.state;
    for (const image of ['widemesh/stack-php:8.2', 'widemesh/stack-python:3.11', 'widemesh/stack-go:1.19'])
      expect(state(image)).toBe('present');
    expect(state('widemesh/stack-node:22')).toBe('present');

    const repo = appRepo('php-composer-public');
    const tarball = execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: repo });
    const explained = await request(`${server.apiUrl}/api/buildpacks/detect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-tar' },
      body: tarball,
    });
    expect(explained.status).toBe(200);
    const body = JSON.parse(explained.body);
    expect(body).toMatchObject({ buildpack: 'php', processes: { web: 'heroku-php-nginx public/' } });
    expect(body.steps.map((s: { outcome: string }) => s.outcome).slice(0, 4)).toEqual([
      'skipped',
      'skipped',
      'skipped',
      'matched',
    ]);
    expect(body.dockerfile).toContain('FROM widemesh/stack-php:8.2');

    fs.writeFileSync(path.join(repo, 'go.mod'), 'module x\n\ngo 1.30\n');
    fs.rmSync(path.join(repo, 'composer.json'));
    fs.rmSync(path.join(repo, 'public'), { recursive: true });
    commitAll(repo, 'go now');
    const refused = await request(`${server.apiUrl}/api/buildpacks/detect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: repo }),
    });
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.body).error.code).toBe('GO_VERSION_UNSUPPORTED');
    const notTar = await request(`${server.apiUrl}/api/buildpacks/detect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-tar' },
      body: Buffer.alloc(1024, 'not a tar archive '),
    });
    expect(notTar.status).toBe(400);
    expect(JSON.parse(notTar.body).error.code).toBe('SOURCE_INVALID');
  });
});

describe('stack images built from their recipe', () => {
  const image = `wm-test-stack/recipe-${process.pid}:1`;
  const recipe = (marker: string): StackRecipe => ({
    image,
    title: 'test stack',
    dockerfile: `FROM widemesh/stack-base:bookworm\nCOPY hello /usr/local/bin/hello\nRUN hello ${marker}\n`,
    files: { hello: '#!/bin/sh\necho "recipe says $1"\n' },
  });
  const appBuild = (builder: ImageBuilder, lines: string[], tag: string) =>
    builder.build({
      context: Readable.from([]),
      dockerfilePath: 'Dockerfile',
      tag,
      baseImages: [image],
      timeoutMs: 120_000,
      log: lineLog((l) => lines.push(l)),
    });

  afterAll(async () => {
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
  });

  it('builds a missing stack once for concurrent builds, and again when its recipe changes', async () => {
    let current = recipe('one');
    const builder = new ImageBuilder(docker, 0, (name) => (name === image ? current : undefined));
    const a: string[] = [];
    const b: string[] = [];
    // the app build itself fails (an empty context): what matters is the stack built before it
    await Promise.allSettled([appBuild(builder, a, 'wm-test-stack/a:1'), appBuild(builder, b, 'wm-test-stack/b:1')]);
    const all = [...a, ...b];
    expect(all.filter((l) => l.includes(`Building stack image ${image} (first use)`))).toHaveLength(1);
    expect(all.some((l) => l.includes(`waiting for the stack image ${image}`))).toBe(true);
    const built = await docker.getImage(image).inspect();
    expect(built.Config.Labels[RECIPE_LABEL]).toBe(recipeDigest(current));

    const again: string[] = [];
    await appBuild(builder, again, 'wm-test-stack/a:1').catch(() => {});
    expect(again.join('\n')).not.toContain('Building stack image');

    current = recipe('two');
    const changed: string[] = [];
    await appBuild(builder, changed, 'wm-test-stack/a:1').catch(() => {});
    expect(changed.join('\n')).toContain(`Building stack image ${image} (its recipe changed)`);
    expect(changed.join('\n')).toContain('RUN hello two');
  });
});

describe('build semantics: what the install needs, and the build before a missing web process', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it('installs a Composer path repository that lives in the app, and reinstalls when it changes', {
    timeout: 600_000,
  }, async () => {
    const repo = appRepo('php-composer-path');
    const first = await push(repo, remoteUrl(server, 'php-paths'));
    expect(first.output).toContain('path repositories installed with the dependencies: packages/greeter');
    expect(first.code, first.output).toBe(0);
    await answerMatching(server, 'php-paths', /^hello php from a path repository v1$/);
    edit(repo, 'packages/greeter/src/Greeting.php', (t) => t.replace('v1', 'v2'));
    commitAll(repo, 'the local package changes');
    const second = await push(repo, remoteUrl(server, 'php-paths'));
    expect(second.code, second.output).toBe(0);
    await answerMatching(server, 'php-paths', /^hello php from a path repository v2$/);
  });

  it('serves a Vite single-page app without a start command from its built dist/, routes included', {
    timeout: 600_000,
  }, async () => {
    const repo = appRepo('node-vite-spa');
    const result = await push(repo, remoteUrl(server, 'vite-spa'));
    expect(result.output).toContain('no start command: serving the built dist/ as a single-page app');
    expect(result.code, result.output).toBe(0);
    for (const route of ['/', '/users/42']) {
      const page = await viaRouter(server, 'vite-spa.localhost', route);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>Widemesh SPA</title>');
      expect(page.body).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js">/);
    }
    expect((await viaRouter(server, 'vite-spa.localhost', '/assets/missing.js')).status).toBe(404);
  });

  it("fails a Python build with pip's own message, and only a build that passes for having no web process", {
    timeout: 600_000,
  }, async () => {
    const repo = appRepo('python-bad-requirements');
    const rejected = await push(repo, remoteUrl(server, 'py-noweb'));
    expect(rejected.code).not.toBe(0);
    expect(rejected.output).toContain("ERROR: Invalid requirement: 'requests[security'");
    expect(rejected.output).not.toContain('no web process');

    fs.writeFileSync(path.join(repo, 'requirements.txt'), '# the standard library is enough\n');
    commitAll(repo, 'requirements pip reads');
    const built = await push(repo, remoteUrl(server, 'py-noweb'));
    expect(built.code).not.toBe(0);
    expect(built.output).toMatch(/image \S+ built in/);
    expect(built.output).toContain('Build succeeded, but there is no web process: add a Procfile');

    fs.writeFileSync(path.join(repo, 'Procfile'), 'web: python app.py\n');
    commitAll(repo, 'a web process');
    const deployed = await push(repo, remoteUrl(server, 'py-noweb'));
    expect(deployed.code, deployed.output).toBe(0);
    await answerMatching(server, 'py-noweb', /^hello from python$/);
  });
});
