import { describe, expect, it } from 'vitest';
import { endpointCandidates, endpointHost } from '../../../server/endpoints.ts';

describe('endpoints', () => {
  it.each([
    [{ appName: 'shop', name: 'production' }, 'shop.example.test'],
    [{ appName: 'shop', name: 'staging' }, 'shop-staging.example.test'],
    [{ appName: 'my-shop', name: 'pr-12' }, 'my-shop-pr-12.example.test'],
  ])('names %o %s', (env, host) => {
    expect(endpointHost(env, 'example.test')).toBe(host);
  });

  it('reads a host name every way an app name with dashes allows, port and case ignored', () => {
    expect(endpointCandidates('My-Shop-Staging.example.test:8080', 'example.test')).toEqual([
      { app: 'my-shop-staging', environment: 'production' },
      { app: 'my-shop', environment: 'staging' },
      { app: 'my', environment: 'shop-staging' },
    ]);
  });

  it.each(['shop.other.test', 'example.test', 'a.b.example.test', 'shop_x.example.test', ''])('ignores %j', (host) => {
    expect(endpointCandidates(host, 'example.test')).toEqual([]);
  });
});
