import { BASE_IMAGE, GO_STACK, GO_VERSION } from './stack-recipes.ts';
import { type Buildpack, BuildpackError, type GoPlan, type SourceTree } from './types.ts';

const newer = (a: string, b: string) => {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 > b1 || (a1 === b1 && a2 > b2);
};

/** The module path and the `go` directive of go.mod. */
function readGoMod(src: SourceTree): { module: string; go?: string } {
  const text = src.readText('go.mod') ?? '';
  const module = /^module\s+"?([^"\s]+)"?/m.exec(text)?.[1];
  if (!module) throw new BuildpackError('GO_MOD_INVALID', 'go.mod has no "module" line');
  return { module, go: /^go\s+(\d+\.\d+)(?:\.\d+)?\s*$/m.exec(text)?.[1] };
}

/** `go build -o bin/ ./...` names a binary after its package folder (the root one after the module path). */
function mainBinaries(src: SourceTree, module: string): string[] {
  const dirs = new Set<string>();
  for (const file of src.list()) {
    if (!file.endsWith('.go') || file.endsWith('_test.go') || /(^|\/)(vendor|testdata)\//.test(file)) continue;
    if (/^package\s+main\b/m.test(src.readText(file) ?? ''))
      dirs.add(file.includes('/') ? file.replace(/\/[^/]+$/, '') : '');
  }
  const moduleName = module
    .split('/')
    .filter((part) => !/^v\d+$/.test(part))
    .at(-1)!;
  return [...dirs].map((dir) => (dir === '' ? moduleName : dir.split('/').at(-1)!)).sort();
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
    const binaries = mainBinaries(src, mod.module);
    const web = processes.web ?? (binaries.length === 1 ? `bin/${binaries[0]}` : undefined);
    if (!web) {
      throw new BuildpackError(
        'GO_NO_WEB_PROCESS',
        binaries.length === 0
          ? 'no main package found to run: add a package main (or a Procfile with a web process)'
          : `several main packages (${binaries.map((b) => `bin/${b}`).join(', ')}): say which serves the web in a Procfile ("web: bin/NAME")`,
      );
    }
    const vendored = src.has('vendor/modules.txt');
    return {
      buildpack: 'go',
      summary: [
        `Go ${GO_VERSION} (go.mod: go ${mod.go ?? 'not set'})`,
        vendored ? 'dependencies from vendor/' : 'go mod download (go.mod, go.sum)',
        `binaries: ${binaries.map((b) => `bin/${b}`).join(', ') || 'none'}`,
        `web: ${web}${processes.web ? ' (Procfile)' : ''}`,
      ],
      baseImages: [GO_STACK, BASE_IMAGE],
      processes: { ...processes, web },
      stackImage: GO_STACK,
      runImage: BASE_IMAGE,
      manifestFiles: ['go.mod', 'go.sum'].filter((f) => src.has(f)),
      vendored,
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
    'RUN mkdir -p /out/bin && go build -o /out/bin/ ./...',
    '',
    `FROM ${plan.runImage}`,
    'WORKDIR /app',
    'COPY . .',
    'COPY --from=build /out/bin/ /app/bin/',
    'ENV PATH=/app/bin:$PATH',
  ];
}
