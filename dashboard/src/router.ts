import { useEffect, useState } from 'preact/hooks';

/**
 * A small router on the history API: pages are plain `<a href>` links, a click on a same-origin link
 * becomes a pushState instead of a page load, and the back button (popstate) re-renders.
 */

export const TABS = ['overview', 'config', 'releases', 'builds', 'domains', 'logs', 'timeline'] as const;
export type Tab = (typeof TABS)[number];
export const PRODUCTION = 'production';

export type Route =
  | { page: 'sign-in' }
  | { page: 'apps' }
  | { page: 'app'; app: string; environment: string; tab: Tab }
  | { page: 'build'; app: string; environment: string; build: number }
  | { page: 'not-found' };

const NAVIGATED = 'widemesh:navigated';

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** The current location, re-rendering on every navigation (links, back/forward, navigate()). */
export function useLocation(): { path: string; search: string } {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const update = () => setLocation(currentLocation());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return location;
}

const currentLocation = () => ({ path: location.pathname, search: location.search });

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
  return next.startsWith('/') && !next.startsWith('//') && next !== '/sign-in' ? next : '/';
}

/** Turns clicks on same-origin links into history navigation; returns the function that stops it. */
export function interceptLinkClicks(): () => void {
  const onClick = (event: MouseEvent) => {
    const link = linkToFollow(event);
    if (!link) return;
    event.preventDefault();
    navigate(link.pathname + link.search + link.hash);
  };
  document.addEventListener('click', onClick);
  return () => document.removeEventListener('click', onClick);
}

function linkToFollow(event: MouseEvent): HTMLAnchorElement | undefined {
  if (event.defaultPrevented || event.button !== 0) return undefined;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return undefined;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link?.href || link.target || link.hasAttribute('download')) return undefined;
  if (link.origin !== location.origin || link.getAttribute('href')?.startsWith('#')) return undefined;
  return link;
}

/** Production first, then the others (previews last) by name: the order of the selector and the overview. */
export function productionFirst<T extends { name: string; preview?: boolean }>(environments: T[]): T[] {
  const rank = (e: T) => (e.name === PRODUCTION ? 0 : e.preview ? 2 : 1);
  return [...environments].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
