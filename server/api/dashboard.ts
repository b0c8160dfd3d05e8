import fs from 'node:fs';
import path from 'node:path';
import express, { type Response } from 'express';

/**
 * Nothing but this server's own files: no inline script or style, no other origin, no framing.
 * `connect-src 'self'` covers the log websocket (same host, ws: or wss:).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The client-side routes: each answers the dashboard's page, which draws the route itself. */
const PAGES = /^\/(sign-in|apps(\/.*)?)?$/;

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

/**
 * The dashboard at `/` of the API port: its bundle (built by `npm run build:dashboard` into
 * `dir`) and the page for each client-side route. The data comes from the same /api, signed in
 * by session cookie (see session.ts).
 */
export function dashboardRoutes(dir: string): express.Router {
  const router = express.Router();
  const page = path.join(dir, 'index.html');
  router.use('/assets', (_req, res, next) => {
    secureHeaders(res);
    next();
  });
  // file names carry a hash of their content: a new build has new names
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  router.get(PAGES, (_req, res) => {
    secureHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    if (!fs.existsSync(page)) {
      res
        .status(503)
        .type('text/plain')
        .send('The dashboard is not built: run `npm run build:dashboard` (scripts/up does it), then reload.\n');
      return;
    }
    res.sendFile(page);
  });
  router.get('/favicon.svg', express.static(dir, { index: false, maxAge: '1d' }));
  return router;
}
