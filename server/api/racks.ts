import express, { type Request } from 'express';
import type { Provider, ProviderSaved, Racks, RacksSet } from '../../contract/api.ts';
import { assertProvider, ConfigError, type RackConfig } from '../config.ts';
import { notFound, WidemeshError } from '../errors.ts';
import type { DiskQuota } from '../racks/disk-quota.ts';
import type { RackSet } from '../racks/rack-set.ts';
import type { SecretBox } from '../secrets.ts';
import type { Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';

const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,39}$/;

const asApiError = (err: unknown): never => {
  if (err instanceof ConfigError) throw new WidemeshError('INVALID_RACKS', err.message);
  throw err;
};

/**
 * Cloud providers (their settings, credentials included, sealed at rest and never sent
 * back) and the racks each environment rolls out to. Mounted under /api (token required).
 */
export function rackRoutes({
  store,
  secrets,
  racks,
  diskQuota,
}: {
  store: Store;
  secrets: SecretBox;
  racks: RackSet;
  diskQuota: DiskQuota;
}): express.Router {
  const router = express.Router();

  router.put('/providers/:name', (req, res) => {
    const name = req.params.name;
    if (!PROVIDER_NAME.test(name))
      throw new WidemeshError('INVALID_PROVIDER', 'a provider name is lower-case letters, digits and dashes');
    try {
      assertProvider(req.body, `provider ${name}`);
    } catch (err) {
      asApiError(err);
    }
    store.racks.setProvider(name, req.body.type, secrets.seal(JSON.stringify(req.body)));
    res.json({ name, type: req.body.type } satisfies ProviderSaved);
  });

  router.get('/providers', (_req, res) => {
    const providers = store.racks
      .providers()
      .map((p) => ({ name: p.name, type: p.type, environments: store.racks.environmentsUsing(p.name) }));
    res.json(providers satisfies Provider[]);
  });

  router.delete('/providers/:name', (req, res) => {
    if (store.racks.environmentsUsing(req.params.name) > 0)
      throw new WidemeshError(
        'PROVIDER_IN_USE',
        `provider ${req.params.name} is used by environments' racks; change their racks first`,
        409,
      );
    if (!store.racks.removeProvider(req.params.name))
      throw notFound('PROVIDER_NOT_FOUND', `no provider named ${req.params.name}`);
    res.json({ deleted: req.params.name });
  });

  const environment = (req: Request) => environmentOf(store, req);

  router.put('/apps/:app/racks', (req, res) => {
    const env = environment(req);
    const rollout = req.body?.rollout ?? 'parallel';
    if (rollout !== 'sequential' && rollout !== 'parallel')
      throw new WidemeshError('INVALID_RACKS', 'rollout is "sequential" or "parallel"');
    const specs = req.body?.racks;
    let resolved: RackConfig[] | undefined;
    try {
      resolved = racks.resolve(specs);
    } catch (err) {
      asApiError(err);
    }
    if (!resolved || resolved.length < 2)
      throw new WidemeshError('INVALID_RACKS', 'an environment runs in at least two racks');
    if (new Set(resolved.map((r) => r.name)).size !== resolved.length)
      throw new WidemeshError('INVALID_RACKS', 'rack names must be unique');
    store.racks.setForEnvironment(env.id, specs, rollout);
    res.json({
      environment: env.name,
      racks: resolved.map((r) => ({ name: r.name, kind: r.kind })),
      rollout,
      note: 'takes effect with the next release',
    } satisfies RacksSet);
  });

  router.get('/apps/:app/racks', (req, res) => {
    const env = environment(req);
    const { racks: list, parallel } = racks.forEnvironment(env.id);
    res.json({
      environment: env.name,
      racks: list.map((r) => ({ name: r.name })),
      rollout: parallel ? 'parallel' : 'sequential',
      custom: store.racks.forEnvironment(env.id) !== undefined,
      instanceDisk: diskQuota.note,
    } satisfies Racks);
  });

  return router;
}
