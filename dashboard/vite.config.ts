import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard: Preact pages bundled by Vite into dashboard/dist, which the server serves at `/`
 * of the API port. `npm run build:dashboard` builds it (scripts/up and scripts/test do).
 * `npx vite dashboard` serves it with reloads, proxying /api to a server on WIDEMESH_API (default :7070).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // one script and one stylesheet: the server's Content-Security-Policy allows nothing inline
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/api': { target: process.env.WIDEMESH_API ?? 'http://127.0.0.1:7070', ws: true },
    },
  },
});
