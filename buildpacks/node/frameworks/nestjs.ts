import { dependsOn, hasScript } from '../package-json.ts';
import type { FrameworkDetector } from './framework.ts';

/**
 * A NestJS app as the Nest CLI scaffolds it starts with `nest start`: the CLI is a devDependency, pruned
 * after the build (and it would compile again at boot). Its `start:prod` runs what `nest build` made.
 */
export const nestjs: FrameworkDetector = (pkg, pm) => {
  const start = pkg.scripts?.start ?? '';
  if (!dependsOn(pkg, '@nestjs/core') || !/^nest start\b/.test(start.trim()) || !hasScript(pkg, 'start:prod'))
    return undefined;
  return {
    web: `${pm.run} start:prod`,
    lines: [
      `NestJS: "start" runs the Nest CLI (${start}), a devDependency pruned after the build: web runs start:prod (${pkg.scripts!['start:prod']})`,
    ],
  };
};
