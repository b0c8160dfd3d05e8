import express from 'express';
import { isProcessType } from '../../buildpacks/procfile.ts';
import type { ProcessList, Restarted, RunMessage, Scaled, StoppedOrStarted } from '../../contract/api.ts';
import { WidemeshError } from '../errors.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { collectingLog } from '../logs/index.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { Environment, Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';
import { startOf } from './run-socket.ts';

interface ProcessDeps {
  store: Store;
  racks: RackSet;
  lifecycle: Lifecycle;
}

/** `{"web": 2, "worker": 1}` or `["web=2", "worker=1"]` → changes; anything else is a usage error. */
function scaleChanges(body: unknown): Record<string, number> {
  const pairs = Array.isArray(body) ? body.map((p) => String(p).split('=')) : Object.entries(body ?? {});
  if (pairs.length === 0) throw new WidemeshError('INVALID_SCALE', 'send {"TYPE": N}, e.g. {"web": 2, "worker": 1}');
  const changes: Record<string, number> = {};
  for (const [service, quantity] of pairs) {
    if (typeof service !== 'string' || !isProcessType(service)) {
      throw new WidemeshError('INVALID_SCALE', `"${String(service).slice(0, 63)}" is not a process type`);
    }
    changes[service] = typeof quantity === 'number' ? quantity : Number(quantity);
  }
  return changes;
}

/** `ps`: every instance of the environment per rack, with its state. */
async function processList({ store, racks }: ProcessDeps, env: Environment): Promise<ProcessList> {
  const rows: ProcessList['instances'] = [];
  for (const placement of store.placements.of(env.id)) {
    const release = store.releases.byId(placement.releaseId)?.version ?? null;
    const rack = racks.named(env.id, placement.rack);
    for (const { id, startedAt, ...status } of rack ? await rack.status(placement.instances) : []) {
      const uptime = startedAt ? Math.round((Date.now() - Date.parse(startedAt)) / 1000) : null;
      rows.push({ rack: placement.rack, release, ...status, instance: id.slice(0, 12), uptimeSeconds: uptime });
    }
  }
  return { environment: env.name, formation: store.apps.formation(env.id), instances: rows };
}

/**
 * Services and instances: `ps`, `ps:scale`, `ps:restart`, `ps:stop`/`ps:start` and `run` (a
 * one-off process of the current release); the changes are the lifecycle's. Mounted under /api.
 */
export function processRoutes(deps: ProcessDeps): express.Router {
  const { store, lifecycle } = deps;
  const router = express.Router();

  router.get('/apps/:app/ps', async (req, res) => {
    res.json(await processList(deps, environmentOf(store, req)));
  });

  router.post('/apps/:app/ps/scale', async (req, res) => {
    const env = environmentOf(store, req);
    const log = collectingLog();
    const formation = await lifecycle.scale(env, scaleChanges(req.body), log);
    res.json({ environment: env.name, formation, log: log.lines } satisfies Scaled);
  });

  router.post('/apps/:app/ps/restart', async (req, res) => {
    const env = environmentOf(store, req);
    const service = typeof req.body?.service === 'string' ? req.body.service : undefined;
    const restarted = await lifecycle.restart(env, service);
    res.json({ environment: env.name, restarted } satisfies Restarted);
  });

  for (const action of ['stop', 'start'] as const) {
    router.post(`/apps/:app/ps/${action}`, async (req, res) => {
      const env = environmentOf(store, req);
      const log = collectingLog();
      const running = await lifecycle.stopOrStart(env, action, log);
      res.json({ environment: env.name, running, log: log.lines } satisfies StoppedOrStarted);
    });
  }

  // One JSON object per line: {"stream", "line"} while it runs, then {"exit": code}.
  router.post('/apps/:app/run', async (req, res) => {
    const env = environmentOf(store, req);
    const { command } = startOf(req.body);
    const write = (message: RunMessage) => res.write(`${JSON.stringify(message)}\n`);
    const started = () => res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    try {
      write({ exit: await lifecycle.run(env, command, { started, line: (stream, line) => write({ stream, line }) }) });
    } catch (err) {
      if (!res.headersSent) throw err;
      write({ error: err instanceof WidemeshError ? err.message : 'the one-off process failed to run' });
    }
    res.end();
  });

  return router;
}
