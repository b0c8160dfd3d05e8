import { dependsOn } from '../package-json.ts';
import type { FrameworkDetector } from './framework.ts';

/**
 * The server @astrojs/node builds binds HOST, `localhost` when unset: reachable on an instance's own loopback
 * only. As Railpack does, the image sets HOST=0.0.0.0, so a rack that connects from outside (a swarm
 * service, a cloud rack) reaches it too.
 */
export const astro: FrameworkDetector = (pkg) => {
  if (!dependsOn(pkg, 'astro') || !dependsOn(pkg, '@astrojs/node')) return undefined;
  return {
    env: { HOST: '0.0.0.0' },
    lines: ['Astro with @astrojs/node: HOST=0.0.0.0 (its server binds HOST, localhost when unset)'],
  };
};
