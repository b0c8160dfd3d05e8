/** The dashboard's addresses: which page a path shows, and the path of each page. Pure: no DOM here. */

export const TABS = ['overview', 'config', 'releases', 'builds', 'domains', 'logs', 'timeline'] as const;
export type Tab = (typeof TABS)[number];
export const PRODUCTION = 'production';

export type Route =
  | { page: 'sign-in' }
  | { page: 'apps' }
  | { page: 'app'; app: string; environment: string; tab: Tab }
  | { page: 'build'; app: string; environment: string; build: number }
  | { page: 'not-found' };

export function parseRoute(path: string, search: string): Route {
  if (path === '/') return { page: 'apps' };
  if (path === '/sign-in') return { page: 'sign-in' };
  const parts = path.split('/').slice(1);
  if (parts[0] !== 'apps' || !parts[1]) return { page: 'not-found' };
  const app = safeDecode(parts[1]);
  const environment = new URLSearchParams(search).get('environment') || PRODUCTION;
  if (parts.length === 2) return { page: 'app', app, environment, tab: 'overview' };
  if (parts[2] === 'builds' && parts.length === 4 && /^\d+$/.test(parts[3] ?? ''))
    return { page: 'build', app, environment, build: Number(parts[3]) };
  const tab = TABS.find((t) => t === parts[2] && t !== 'overview');
  return tab && parts.length === 3 ? { page: 'app', app, environment, tab } : { page: 'not-found' };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const environmentQuery = (environment: string) =>
  environment === PRODUCTION ? '' : `?environment=${encodeURIComponent(environment)}`;

/** `/apps/NAME[/TAB][?environment=E]`: the environment is left out for production. */
export function appUrl(app: string, tab: Tab, environment: string): string {
  const tabPart = tab === 'overview' ? '' : `/${tab}`;
  return `/apps/${encodeURIComponent(app)}${tabPart}${environmentQuery(environment)}`;
}

export function buildUrl(app: string, build: number, environment: string): string {
  return `/apps/${encodeURIComponent(app)}/builds/${build}${environmentQuery(environment)}`;
}

/** Where to go after signing in: a path on this site only, never another origin. */
export function returnPath(search: string): string {
  const next = new URLSearchParams(search).get('next') ?? '/';
  // "//host" and "/\host" both lead to another origin in a browser
  const local = next.startsWith('/') && !next.startsWith('//') && !next.includes('\\');
  return local && next !== '/sign-in' ? next : '/';
}

/** Production first, then the others (previews last) by name: the order of the selector and the overview. */
export function productionFirst<T extends { name: string; preview?: boolean }>(environments: T[]): T[] {
  const rank = (e: T) => (e.name === PRODUCTION ? 0 : e.preview ? 2 : 1);
  return [...environments].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
