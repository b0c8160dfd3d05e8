import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { resumeSession, signOut, whenSignedOut } from './api.ts';
import { ErrorMessage } from './components/feedback.tsx';
import { asApiError, useAction } from './hooks.ts';
import { AppListPage } from './pages/app-list.tsx';
import { AppPage, TAB_LABELS } from './pages/app-page.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { interceptLinkClicks, navigate, parseRoute, type Route, returnPath, useLocation } from './router.ts';
import './styles.css';

type SessionState = 'checking' | 'signed-in' | 'signed-out' | { error: string };

/** Whether a session cookie is still good, asked once on load; the API client reports when it ends. */
function useSession() {
  const [state, setState] = useState<SessionState>('checking');
  const check = useCallback(() => {
    setState('checking');
    resumeSession().then(
      (session) => setState(session ? 'signed-in' : 'signed-out'),
      (err) => setState({ error: asApiError(err).message }),
    );
  }, []);
  useEffect(() => {
    whenSignedOut(() => setState('signed-out'));
    check();
  }, [check]);
  return { state, setState, retry: check };
}

function App() {
  const session = useSession();
  const { path, search } = useLocation();
  useEffect(interceptLinkClicks, []);
  const signedIn = session.state === 'signed-in';
  useEffect(() => {
    // signed out: the sign-in page, remembering where to come back to; signed in: never the sign-in page
    if (session.state === 'signed-out' && path !== '/sign-in')
      navigate(`/sign-in?next=${encodeURIComponent(path + search)}`, { replace: true });
    if (signedIn && path === '/sign-in') navigate(returnPath(search), { replace: true });
  }, [session.state, signedIn, path, search]);
  if (typeof session.state === 'object') return <Unreachable message={session.state.error} retry={session.retry} />;
  if (session.state === 'checking') return <p class="muted boot">Loading…</p>;
  const route: Route = signedIn ? parseRoute(path, search) : { page: 'sign-in' };
  return (
    <>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <Header
        signedIn={signedIn}
        onSignedOut={() => {
          // signing out on purpose: a plain sign-in page, not one that returns to where the user was
          navigate('/sign-in');
          session.setState('signed-out');
        }}
      />
      <Main route={route} onSignedIn={() => session.setState('signed-in')} />
    </>
  );
}

function Header({ signedIn, onSignedOut }: { signedIn: boolean; onSignedOut: () => void }) {
  const action = useAction();
  const leave = async () => {
    const signedOut = await action.run('Signing out…', async () => {
      await signOut();
      return 'Signed out';
    });
    if (signedOut) onSignedOut();
  };
  return (
    <header class="site-header">
      <a href="/" class="brand">
        Widemesh
      </a>
      {signedIn && (
        <nav aria-label="Main">
          <a href="/">Apps</a>
          <button type="button" class="link-button" disabled={action.pending} onClick={leave}>
            Sign out
          </button>
        </nav>
      )}
      {action.error && <ErrorMessage message={action.error} />}
    </header>
  );
}

function Main({ route, onSignedIn }: { route: Route; onSignedIn: () => void }) {
  const main = useRef<HTMLElement>(null);
  const title = pageTitle(route);
  const firstRender = useRef(true);
  useEffect(() => {
    document.title = title;
    // after a navigation, keyboard and screen reader users start at the new page, not on the link they left
    if (!firstRender.current) main.current?.focus();
    firstRender.current = false;
  }, [title]);
  return (
    <main id="content" tabIndex={-1} ref={main}>
      <Page route={route} onSignedIn={onSignedIn} />
    </main>
  );
}

function Page({ route, onSignedIn }: { route: Route; onSignedIn: () => void }) {
  switch (route.page) {
    case 'sign-in':
      return <SignInPage onSignedIn={onSignedIn} />;
    case 'apps':
      return <AppListPage />;
    case 'app':
      return <AppPage app={route.app} environment={route.environment} tab={route.tab} />;
    case 'build':
      return <AppPage app={route.app} environment={route.environment} tab="builds" build={route.build} />;
    case 'not-found':
      return <NotFound />;
  }
}

function pageTitle(route: Route): string {
  if (route.page === 'app') return `${route.app} · ${TAB_LABELS[route.tab]} · Widemesh`;
  if (route.page === 'build') return `${route.app} · Build ${route.build} · Widemesh`;
  if (route.page === 'sign-in') return 'Sign in · Widemesh';
  return route.page === 'apps' ? 'Apps · Widemesh' : 'Not found · Widemesh';
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="/">Back to the apps</a>
      </p>
    </section>
  );
}

function Unreachable({ message, retry }: { message: string; retry: () => void }) {
  return (
    <main id="content" class="boot">
      <h1>Widemesh</h1>
      <ErrorMessage message={message} />
      <button type="button" onClick={retry}>
        Retry
      </button>
    </main>
  );
}

render(<App />, document.getElementById('root')!);
