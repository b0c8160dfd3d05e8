import { newestStack } from './newest-node-stack.ts';
import { STATIC_SERVER_BIN } from './static-server.ts';
import type { Buildpack } from './types.ts';

/** Where a site without a build step keeps its index.html. */
const ROOTS = ['', 'public', 'dist'];

export const staticBuildpack: Buildpack = {
  name: 'static',
  title: 'Static',
  describe: 'static site: an index.html at the root (or in public/ or dist/)',
  detect(src, ctx, processes) {
    const root = ROOTS.find((dir) => src.has(dir ? `${dir}/index.html` : 'index.html'));
    if (root === undefined) return null;
    const stackImage = newestStack(ctx).image;
    const web = processes.web ?? `node ${STATIC_SERVER_BIN} /app/${root}`.replace(/\/$/, '');
    return {
      buildpack: 'static',
      summary: [`serving ${root || 'the root'}/ with the built-in static server`, `stack ${stackImage}`],
      baseImages: [stackImage],
      processes: { ...processes, web },
      stackImage,
      root,
    };
  },
};
