import type { PackageJson } from '../package-json.ts';
import type { PackageManagerChoice } from '../package-managers.ts';
import { astro } from './astro.ts';
import type { FrameworkAdjustment } from './framework.ts';
import { nestjs } from './nestjs.ts';

export type { FrameworkAdjustment } from './framework.ts';

/** Checked in order; the first framework that needs something wins. */
const DETECTORS = [nestjs, astro];

export function detectFramework(pkg: PackageJson, pm: PackageManagerChoice): FrameworkAdjustment {
  for (const detector of DETECTORS) {
    const found = detector(pkg, pm);
    if (found) return found;
  }
  return { lines: [] };
}
