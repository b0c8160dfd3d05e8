import { useEffect, useState } from 'preact/hooks';

/**
 * A small router on the history API: pages are plain `<a href>` links, a click on a same-origin link
 * becomes a pushState instead of a page load, and the back button (popstate) re-renders.
 */

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
