import express from 'express';
import { tokenOf } from '../access/auth.ts';
import type { Store } from '../store/index.ts';

/** GET /whoami (under /api, behind the token check): the name of the caller's token, or its dashboard session. */
export function whoamiRoutes(store: Store): express.Router {
  const router = express.Router();
  router.get('/whoami', (req, res) => {
    const token = tokenOf(req);
    const name = token === undefined ? undefined : store.tokens.nameOf(token);
    res.json(name === undefined ? { name: 'dashboard session', via: 'session' } : { name, via: 'token' });
  });
  return router;
}
