import type { PackageJson } from '../package-json.ts';
import type { PackageManagerChoice } from '../package-managers.ts';

/** What a framework needs beyond the usual install, build and start script. */
export interface FrameworkAdjustment {
  /** Build-log lines naming the framework and what was done for it. */
  lines: string[];
  /** The web process instead of the start script (a Procfile's web still wins). */
  web?: string;
  /** Variables set in the image for run time; config vars of the same name win. */
  env?: Record<string, string>;
}

/** One framework's check: undefined when the app is not one, or needs nothing more. */
export type FrameworkDetector = (pkg: PackageJson, pm: PackageManagerChoice) => FrameworkAdjustment | undefined;
