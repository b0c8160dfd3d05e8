import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dueForRenewal } from '../../../../server/edge/acme.ts';
import type { Domain } from '../../../../server/store/edge.ts';
import { selfSignedCert } from '../../../helpers/certs.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-acme-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const { certificate } = selfSignedCert(dir, 'shop.example.com', 2);

describe('ACME renewal', () => {
  const domain = (change: Partial<Domain>): Domain => ({
    name: 'shop.example.com',
    environmentId: 1,
    certPem: certificate,
    sealedKey: 'sealed',
    certSource: 'acme',
    notAfter: null,
    createdAt: '',
    ...change,
  });

  it('renews ACME certificates in the last third of their life (at most 30 days before expiry), never user ones', () => {
    const now = new Date();
    const later = new Date(now.getTime() + 1.5 * 24 * 3600 * 1000); // the certificate lives 2 days
    expect(dueForRenewal([domain({})], now)).toEqual([]);
    expect(dueForRenewal([domain({})], later).map((d) => d.name)).toEqual(['shop.example.com']);
    expect(dueForRenewal([domain({ certSource: 'user' }), domain({ certPem: null })], later)).toEqual([]);
  });
});
