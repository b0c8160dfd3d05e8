import { describe, expect, it } from 'vitest';
import { appUrl, buildUrl, parseRoute, productionFirst, returnPath } from '../../../dashboard/src/routes.ts';

const route = (url: string) => {
  const parsed = new URL(url, 'http://dashboard.test');
  return parseRoute(parsed.pathname, parsed.search);
};

describe('dashboard routes', () => {
  it('reads every page from its path and query', () => {
    expect(route('/')).toEqual({ page: 'apps' });
    expect(route('/sign-in?next=/apps/shop')).toEqual({ page: 'sign-in' });
    expect(route('/apps/shop')).toEqual({ page: 'app', app: 'shop', environment: 'production', tab: 'overview' });
    expect(route('/apps/shop/config?environment=staging')).toEqual({
      page: 'app',
      app: 'shop',
      environment: 'staging',
      tab: 'config',
    });
    expect(route('/apps/shop/builds/12')).toEqual({ page: 'build', app: 'shop', environment: 'production', build: 12 });
  });

  it('answers not-found for paths that are no page', () => {
    for (const path of ['/apps', '/apps/', '/apps/shop/overview', '/apps/shop/nope', '/apps/shop/config/x', '/other'])
      expect(route(path), path).toEqual({ page: 'not-found' });
    expect(route('/apps/shop/builds/latest')).toEqual({ page: 'not-found' });
  });

  it('writes paths that read back as the same page, production without a query', () => {
    expect(appUrl('shop', 'overview', 'production')).toBe('/apps/shop');
    expect(appUrl('shop', 'releases', 'pr-7')).toBe('/apps/shop/releases?environment=pr-7');
    expect(buildUrl('shop', 3, 'staging')).toBe('/apps/shop/builds/3?environment=staging');
    expect(route(appUrl('my app', 'domains', 'a&b'))).toEqual({
      page: 'app',
      app: 'my app',
      environment: 'a&b',
      tab: 'domains',
    });
  });

  it('keeps a badly escaped app name as it came instead of failing', () => {
    expect(route('/apps/%E0%A4%A')).toMatchObject({ page: 'app', app: '%E0%A4%A' });
  });

  it('returns after sign-in only to a path of this site', () => {
    expect(returnPath('?next=%2Fapps%2Fshop%2Fconfig')).toBe('/apps/shop/config');
    expect(returnPath('')).toBe('/');
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'apps', '/sign-in'])
      expect(returnPath(`?next=${encodeURIComponent(next)}`), next).toBe('/');
  });

  it('puts production first, previews last, the rest by name', () => {
    const names = productionFirst([
      { name: 'pr-2', preview: true },
      { name: 'staging' },
      { name: 'production' },
      { name: 'alpha', preview: false },
    ]).map((e) => e.name);
    expect(names).toEqual(['production', 'alpha', 'staging', 'pr-2']);
  });
});
