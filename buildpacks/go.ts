import { isProcessType } from './procfile.ts';
import { BASE_IMAGE, GO_STACK, GO_VERSION } from './stack-recipes.ts';
import { type Buildpack, BuildpackError, type GoPlan, type SourceTree } from './types.ts';

const newer = (a: string, b: string) => {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 > b1 || (a1 === b1 && a2 > b2);
};

interface GoMod {
  module: string;
  go?: string;
  /** `// +heroku install SPEC…`: the packages to build; ['./...'] when absent. */
  install: string[];
}

/** The module path, the `go` directive and Heroku's `// +heroku install` directive of go.mod. */
function readGoMod(src: SourceTree): GoMod {
  const text = src.readText('go.mod') ?? '';
  const module = /^module\s+"?([^"\s]+)"?/m.exec(text)?.[1];
  if (!module) throw new BuildpackError('GO_MOD_INVALID', 'go.mod has no "module" line');
  const install = /^\/\/\s*\+heroku\s+install\s+(.+)$/m
    .exec(text)?.[1]
    ?.trim()
    .split(/[\s,]+/);
  return { module, go: /^go\s+(\d+\.\d+)(?:\.\d+)?\s*$/m.exec(text)?.[1], install: install ?? ['./...'] };
}

/** Whether a package folder ('' for the root) is one `go build` builds for a spec like `.`, `./cmd/web`, `./cmd/...`. */
function matchesSpec(dir: string, spec: string): boolean {
  const wanted = spec.replace(/^\.\/?/, '').replace(/\/$/, '');
  if (!wanted.endsWith('...')) return dir === wanted;
  const prefix = wanted.slice(0, -3).replace(/\/$/, '');
  return prefix === '' || dir === prefix || dir.startsWith(`${prefix}/`);
}

/** Folders holding a `package main` ('' for the root), vendor/ and testdata/ aside. */
function mainPackageDirs(src: SourceTree): string[] {
  const dirs = new Set<string>();
  for (const file of src.list()) {
    if (!file.endsWith('.go') || file.endsWith('_test.go') || /(^|\/)(vendor|testdata)\//.test(file)) continue;
    if (/^package\s+main\b/m.test(src.readText(file) ?? ''))
      dirs.add(file.includes('/') ? file.replace(/\/[^/]+$/, '') : '');
  }
  return [...dirs];
}

/** The binaries `go build -o bin/ SPECS` makes: each named after its package folder (the root one after the module). */
function mainBinaries(src: SourceTree, mod: GoMod): string[] {
  const moduleName = mod.module
    .split('/')
    .filter((part) => !/^v\d+$/.test(part))
    .at(-1)!;
  return mainPackageDirs(src)
    .filter((dir) => mod.install.some((spec) => matchesSpec(dir, spec)))
    .map((dir) => (dir === '' ? moduleName : dir.split('/').at(-1)!))
    .sort();
}

/**
 * As Heroku's Go buildpack: the only binary is the web process; of several, each is a process type of its
 * name (`web` the web one). `release` is left out: only a Procfile declares a release phase. The Procfile wins.
 */
function processTypes(binaries: string[], procfile: Record<string, string>): Record<string, string> {
  if (binaries.length === 1) return { web: `bin/${binaries[0]}`, ...procfile };
  const named = binaries.filter((b) => isProcessType(b) && b !== 'release');
  return { ...Object.fromEntries(named.map((b) => [b, `bin/${b}`])), ...procfile };
}

export const goBuildpack: Buildpack = {
  name: 'go',
  title: 'Go',
  describe: 'Go: a go.mod at the root',
  detect(src, _ctx, processes) {
    if (!src.has('go.mod')) return null;
    const mod = readGoMod(src);
    if (mod.go && newer(mod.go, GO_VERSION)) {
      throw new BuildpackError(
        'GO_VERSION_UNSUPPORTED',
        `go.mod asks for go ${mod.go}, but this server's Go toolchain is go ${GO_VERSION} (Debian bookworm's golang); ` +
          `lower the go directive to ${GO_VERSION} or build with a Dockerfile`,
      );
    }
    const binaries = mainBinaries(src, mod);
    const types = processTypes(binaries, processes);
    const web = types.web;
    if (!web) {
      throw new BuildpackError(
        'GO_NO_WEB_PROCESS',
        binaries.length === 0
          ? 'no main package found to run: add a package main (or a Procfile with a web process)'
          : `several main packages (${binaries.map((b) => `bin/${b}`).join(', ')}) and none named web: ` +
              'name the web one cmd/web, or say which serves the web in a Procfile ("web: bin/NAME")',
      );
    }
    const vendored = src.has('vendor/modules.txt');
    return {
      buildpack: 'go',
      summary: [
        `Go ${GO_VERSION} (go.mod: go ${mod.go ?? 'not set'})`,
        vendored ? 'dependencies from vendor/' : 'go mod download (go.mod, go.sum)',
        `go build -tags heroku ${mod.install.join(' ')}`,
        `binaries: ${binaries.map((b) => `bin/${b}`).join(', ') || 'none'}`,
        `web: ${web}${processes.web ? ' (Procfile)' : ''}`,
      ],
      baseImages: [GO_STACK, BASE_IMAGE],
      processes: types,
      stackImage: GO_STACK,
      runImage: BASE_IMAGE,
      manifestFiles: ['go.mod', 'go.sum'].filter((f) => src.has(f)),
      vendored,
      packages: mod.install,
    };
  },
};

/**
 * Build stage with the toolchain (module downloads cached while go.mod/go.sum are unchanged; the manifest COPY
 * right after FROM, see pythonDockerfile); the binaries and the app's files run on the base stack.
 */
export function goDockerfile(plan: GoPlan): string[] {
  return [
    `FROM ${plan.stackImage} AS build`,
    ...(plan.vendored
      ? ['WORKDIR /src']
      : [
          '# dependencies first: a change to the code alone reuses this layer',
          `COPY ${JSON.stringify([...plan.manifestFiles, '/src/'])}`,
          'WORKDIR /src',
          'RUN go mod download',
        ]),
    'COPY . .',
    // Heroku builds with the `heroku` build tag, for code that differs there
    `RUN mkdir -p /out/bin && go build -tags heroku -o /out/bin/ ${plan.packages.join(' ')}`,
    '',
    `FROM ${plan.runImage}`,
    'WORKDIR /app',
    'COPY . .',
    'COPY --from=build /out/bin/ /app/bin/',
    'ENV PATH=/app/bin:$PATH',
  ];
}
