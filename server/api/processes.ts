import express from 'express';
import { WidemeshError } from '../errors.ts';
import { lineLog } from '../logs/index.ts';
import type { Pipeline } from '../pipeline.ts';
import type { OneOffRunner } from '../racks/one-off.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';
import { startOf } from './run-socket.ts';

export interface ProcessDeps {
  store: Store;
  pipeline: Pipeline;
  racks: RackSet;
  oneOff: OneOffRunner;
  oneOffTimeoutMs: number;
}

/** `{"web": 2, "worker": 1}` or `["web=2", "worker=1"]` → changes; anything else is a usage error. */
function scaleChanges(body: unknown): Record<string, number> {
  const pairs = Array.isArray(body) ? body.map((p) => String(p).split('=')) : Object.entries(body ?? {});
  if (pairs.length === 0) throw new WidemeshError('INVALID_SCALE', 'send {"TYPE": N}, e.g. {"web": 2, "worker": 1}');
  const changes: Record<string, number> = {};
  for (const [service, quantity] of pairs) {
    if (typeof service !== 'string' || !/^[a-z0-9_-]{1,63}$/.test(service)) {
      throw new WidemeshError('INVALID_SCALE', `"${String(service).slice(0, 63)}" is not a process type`);
    }
    changes[service] = typeof quantity === 'number' ? quantity : Number(quantity);
  }
  return changes;
}

/**
 * Services and instances: `ps` (every instance per rack with its state), `ps:scale`,
 * `ps:restart`, and `run` (a one-off process of the current release). Mounted under /api.
 */
export function processRoutes(deps: ProcessDeps): express.Router {
  const { store, pipeline, racks } = deps;
  const router = express.Router();

  router.get('/apps/:app/ps', async (req, res) => {
    const env = environmentOf(store, req);
    const rows = [];
    for (const placement of store.placements(env.id)) {
      const release = store.getReleaseById(placement.releaseId)?.version ?? null;
      const rack = racks.named(env.id, placement.rack);
      const statuses = rack ? await rack.status(placement.instances) : [];
      for (const status of statuses) {
        const uptime = status.startedAt ? Math.round((Date.now() - Date.parse(status.startedAt)) / 1000) : null;
        rows.push({
          rack: placement.rack,
          release,
          ...status,
          instance: status.id.slice(0, 12),
          uptimeSeconds: uptime,
        });
      }
    }
    res.json({ environment: env.name, formation: store.formation(env.id), instances: rows });
  });

  router.post('/apps/:app/ps/scale', async (req, res) => {
    const env = environmentOf(store, req);
    const lines: string[] = [];
    const formation = await pipeline.scale(
      env.appName,
      env.name,
      scaleChanges(req.body),
      lineLog((l) => lines.push(l)),
    );
    res.json({ environment: env.name, formation, log: lines });
  });

  router.post('/apps/:app/ps/restart', async (req, res) => {
    const env = environmentOf(store, req);
    const service = typeof req.body?.service === 'string' ? req.body.service : undefined;
    let restarted = 0;
    for (const placement of store.placements(env.id)) {
      const instances = placement.instances.filter((i) => !service || i.service === service);
      await racks.named(env.id, placement.rack)?.restart(instances);
      restarted += instances.length;
    }
    if (service && restarted === 0) throw new WidemeshError('UNKNOWN_PROCESS_TYPE', `no ${service} instance runs`, 404);
    res.json({ environment: env.name, restarted });
  });

  for (const action of ['stop', 'start'] as const) {
    router.post(`/apps/:app/ps/${action}`, async (req, res) => {
      const env = environmentOf(store, req);
      const lines: string[] = [];
      const running = await pipeline.stopOrStart(
        env.appName,
        env.name,
        action,
        lineLog((l) => lines.push(l)),
      );
      res.json({ environment: env.name, running, log: lines });
    });
  }

  // One JSON object per line: {"stream", "line"} while it runs, then {"exit": code}.
  router.post('/apps/:app/run', async (req, res) => {
    const env = environmentOf(store, req);
    const { command } = startOf(req.body);
    const release = store.currentRelease(env.id);
    if (!release) throw new WidemeshError('NOT_DEPLOYED', `${env.appName} (${env.name}) has no release to run`, 409);
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const request = { app: env.appName, environment: env.name, image: release.image, command, config: release.config };
    const write = (message: object) => res.write(`${JSON.stringify(message)}\n`);
    try {
      const exit = await deps.oneOff.run({ ...request, timeoutMs: deps.oneOffTimeoutMs }, (stream, line) =>
        write({ stream, line }),
      );
      write({ exit });
    } catch (err) {
      write({ error: err instanceof WidemeshError ? err.message : 'the one-off process failed to run' });
    }
    res.end();
  });

  return router;
}
