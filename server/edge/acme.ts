/**
 * Certificates from an ACME CA (Let's Encrypt or any RFC 8555 server) by the HTTP-01 challenge:
 * the answer is a file under DATA/edge/acme that nginx serves at
 * http://DOMAIN/.well-known/acme-challenge/TOKEN on the edge's HTTP port (the CA connects to port 80).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import acme from 'acme-client';
import type pino from 'pino';
import { errorMessage, WidemeshError } from '../errors.ts';
import type { SecretBox } from '../secrets.ts';
import type { Domain, EdgeStore } from '../store/edge.ts';

interface AcmeOptions {
  directoryUrl: string;
  email?: string;
  /** PEM of a private CA that signs the directory's own HTTPS certificate */
  caFile?: string;
  /** DATA/edge/acme: nginx's root for /.well-known/acme-challenge/ */
  challengeRoot: string;
  accountKeyFile: string;
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const CHECK_EVERY_MS = 12 * 3600 * 1000;

/** ACME certificates expiring within 30 days (or a third of their lifetime, for short-lived ones) are due. */
export function dueForRenewal(domains: Domain[], now: Date): Domain[] {
  return domains.filter((d) => {
    if (d.certSource !== 'acme' || !d.certPem) return false;
    const cert = new crypto.X509Certificate(d.certPem);
    const notAfter = new Date(cert.validTo).getTime();
    const margin = Math.min(RENEW_BEFORE_MS, (notAfter - new Date(cert.validFrom).getTime()) / 3);
    return notAfter - now.getTime() <= margin;
  });
}

export class AcmeIssuer {
  private client: acme.Client | undefined;

  constructor(
    private readonly opts: AcmeOptions,
    private readonly deps: { edgeStore: EdgeStore; secrets: SecretBox; logger: pino.Logger },
  ) {
    if (opts.caFile) {
      // the directory's TLS is checked against the system roots plus the operator's CA
      const ca = [...tls.rootCertificates, fs.readFileSync(opts.caFile, 'utf8')];
      acme.axios.defaults.httpsAgent = new https.Agent({ ca });
    }
  }

  /** Orders a certificate for the domain, answers the HTTP-01 challenge through nginx, stores it sealed. */
  async issue(domain: string): Promise<void> {
    const client = this.account();
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: domain }, key);
    const challengeFile = (token: string) => path.join(this.opts.challengeRoot, '.well-known/acme-challenge', token);
    let certificate: string;
    try {
      certificate = await client.auto({
        csr,
        email: this.opts.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // the CA checks from outside; a check from here could not tell more (and may not resolve the name)
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          fs.mkdirSync(path.dirname(challengeFile(challenge.token)), { recursive: true });
          fs.writeFileSync(challengeFile(challenge.token), keyAuthorization, { mode: 0o644 });
        },
        challengeRemoveFn: async (_authz, challenge) => fs.rmSync(challengeFile(challenge.token), { force: true }),
      });
    } catch (err) {
      throw new WidemeshError(
        'ACME_FAILED',
        `the ACME CA did not issue a certificate for ${domain}: ${errorMessage(err)}`,
      );
    }
    const notAfter = new Date(new crypto.X509Certificate(certificate).validTo).toISOString();
    const sealedKey = this.deps.secrets.seal(key.toString());
    this.deps.edgeStore.setCertificate(domain, { pem: certificate, sealedKey, source: 'acme', notAfter });
  }

  /** Renews what is due now, then every 12 hours; failures are logged and retried at the next round. */
  startRenewals(): () => void {
    const round = async () => {
      for (const domain of dueForRenewal(this.deps.edgeStore.domains(), new Date())) {
        try {
          await this.issue(domain.name);
          this.deps.logger.info({ domain: domain.name }, 'certificate renewed');
        } catch (err) {
          this.deps.logger.error({ domain: domain.name, err: errorMessage(err) }, 'certificate renewal failed');
        }
      }
    };
    void round();
    const timer = setInterval(() => void round(), CHECK_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** One account per data directory; its key is made once (0600). */
  private account(): acme.Client {
    if (this.client) return this.client;
    const file = this.opts.accountKeyFile;
    if (!fs.existsSync(file)) {
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    }
    this.client = new acme.Client({ directoryUrl: this.opts.directoryUrl, accountKey: fs.readFileSync(file) });
    return this.client;
  }
}
