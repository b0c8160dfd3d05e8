import crypto from 'node:crypto';
import express, { type Request } from 'express';
import type { DomainDeleted, DomainView, Toggled } from '../../contract/api.ts';
import { notFound, WidemeshError } from '../errors.ts';
import type { SecretBox } from '../secrets.ts';
import type { Domain, EdgeSettings, EdgeStore } from '../store/edge.ts';
import type { Environment, Store } from '../store/index.ts';
import { environmentOf } from './lookup.ts';

export interface EdgeApiDeps {
  store: Store;
  edgeStore: EdgeStore;
  secrets: SecretBox;
  /** the platform domain: its names are Widemesh's, never a custom domain */
  domain: string;
  /** resolves once the edge serves the latest routing, so an answer means it is live */
  synced: () => Promise<void>;
  /** certificates by ACME HTTP-01, when WIDEMESH_ACME_DIRECTORY is set */
  acme?: { issue(domain: string): Promise<void> };
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TOGGLES: Record<string, keyof EdgeSettings> = { maintenance: 'maintenance', 'https-redirect': 'httpsRedirect' };

function certificateState(d: Domain, now = new Date()) {
  if (!d.certPem || !d.notAfter) return { state: 'none' as const };
  const expired = new Date(d.notAfter) <= now;
  return { state: expired ? ('expired' as const) : ('active' as const), source: d.certSource, notAfter: d.notAfter };
}

/** A PEM certificate (leaf first, chain after) and its key, checked against the domain before anything is stored. */
function checkCertificate(domain: string, certPem: unknown, keyPem: unknown): { notAfter: string } {
  if (typeof certPem !== 'string' || typeof keyPem !== 'string')
    throw new WidemeshError('INVALID_CERTIFICATE', 'send {"certificate": "<PEM>", "key": "<PEM>"}');
  let leaf: crypto.X509Certificate;
  let key: crypto.KeyObject;
  try {
    leaf = new crypto.X509Certificate(certPem);
    key = crypto.createPrivateKey(keyPem);
  } catch {
    throw new WidemeshError('INVALID_CERTIFICATE', 'the certificate or the key is not valid PEM');
  }
  if (!leaf.checkPrivateKey(key))
    throw new WidemeshError('INVALID_CERTIFICATE', 'the key does not belong to the certificate');
  if (!leaf.checkHost(domain))
    throw new WidemeshError('INVALID_CERTIFICATE', `the certificate is not valid for ${domain}`);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= new Date())
    throw new WidemeshError('INVALID_CERTIFICATE', `the certificate expired on ${leaf.validTo}`);
  return { notAfter: notAfter.toISOString() };
}

/** Maintenance mode, the HTTPS redirect and custom domains of an environment. Mounted under /api. */
export function edgeRoutes(deps: EdgeApiDeps): express.Router {
  const router = express.Router();
  toggleRoutes(router, deps);
  domainRoutes(router, deps);
  certificateRoutes(router, deps);
  return router;
}

/** GET/POST /apps/:app/maintenance and /apps/:app/https-redirect: {"enabled": boolean}. */
function toggleRoutes(router: express.Router, deps: EdgeApiDeps): void {
  const { store, edgeStore } = deps;
  for (const [route, setting] of Object.entries(TOGGLES)) {
    router.get(`/apps/:app/${route}`, (req, res) => {
      res.json({ enabled: edgeStore.settings(environmentOf(store, req).id)[setting] });
    });
    router.post(`/apps/:app/${route}`, async (req, res) => {
      const env = environmentOf(store, req);
      if (typeof req.body?.enabled !== 'boolean')
        throw new WidemeshError('INVALID_SETTING', `send {"enabled": true} or {"enabled": false}`);
      const settings = edgeStore.updateSettings(env.id, { [setting]: req.body.enabled });
      await deps.synced();
      res.json({ environment: env.name, enabled: settings[setting] } satisfies Toggled);
    });
  }
}

const domainView = (d: Domain): DomainView => ({
  name: d.name,
  certificate: certificateState(d),
  createdAt: d.createdAt,
});

/** The route's `:domain`, attached to the route's environment; 404 otherwise. */
function domainOf(deps: EdgeApiDeps, req: Request): Domain {
  const env: Environment = environmentOf(deps.store, req);
  const found = deps.edgeStore.domain(String(req.params.domain).toLowerCase());
  if (!found || found.environmentId !== env.id)
    throw notFound('DOMAIN_NOT_FOUND', `${env.appName} (${env.name}) has no domain ${String(req.params.domain)}`);
  return found;
}

function domainRoutes(router: express.Router, deps: EdgeApiDeps): void {
  const { store, edgeStore } = deps;
  router.get('/apps/:app/domains', (req, res) => {
    res.json(edgeStore.domains(environmentOf(store, req).id).map(domainView));
  });
  router.post('/apps/:app/domains', async (req, res) => {
    const env = environmentOf(store, req);
    const name = String(req.body?.name ?? '').toLowerCase();
    if (!HOST_NAME.test(name))
      throw new WidemeshError('INVALID_DOMAIN', 'send {"name": "www.example.com"}: a host name with a dot');
    if (name === deps.domain || name.endsWith(`.${deps.domain}`))
      throw new WidemeshError('INVALID_DOMAIN', `names under ${deps.domain} belong to Widemesh's own app addresses`);
    if (edgeStore.domain(name))
      throw new WidemeshError('DOMAIN_TAKEN', `${name} is already attached to an environment`, 409);
    edgeStore.addDomain(name, env.id);
    await deps.synced();
    res.status(201).json(domainView(edgeStore.domain(name)!));
  });
  router.delete('/apps/:app/domains/:domain', async (req, res) => {
    const found = domainOf(deps, req);
    edgeStore.removeDomain(found.name);
    await deps.synced();
    res.json({ deleted: found.name } satisfies DomainDeleted);
  });
}

/** A user's certificate for a domain, or one from the ACME CA. */
function certificateRoutes(router: express.Router, deps: EdgeApiDeps): void {
  const { edgeStore } = deps;
  router.put('/apps/:app/domains/:domain/cert', async (req, res) => {
    const found = domainOf(deps, req);
    const { notAfter } = checkCertificate(found.name, req.body?.certificate, req.body?.key);
    const sealedKey = deps.secrets.seal(req.body.key);
    edgeStore.setCertificate(found.name, { pem: req.body.certificate, sealedKey, source: 'user', notAfter });
    await deps.synced();
    res.json(domainView(edgeStore.domain(found.name)!));
  });
  router.post('/apps/:app/domains/:domain/acme', async (req, res) => {
    const found = domainOf(deps, req);
    if (!deps.acme)
      throw new WidemeshError(
        'ACME_NOT_CONFIGURED',
        'set WIDEMESH_ACME_DIRECTORY (and WIDEMESH_ACME_EMAIL) first',
        409,
      );
    await deps.acme.issue(found.name);
    await deps.synced();
    res.json(domainView(edgeStore.domain(found.name)!));
  });
}
