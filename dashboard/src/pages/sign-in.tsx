import { useState } from 'preact/hooks';
import { signIn } from '../api.ts';
import { ActionFeedback } from '../components/feedback.tsx';
import { useAction } from '../hooks.ts';

/** The API token is exchanged for a session cookie once; the page never keeps it. */
export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const signedIn = await action.run('Signing in…', async () => {
      await signIn(token.trim());
      return 'Signed in';
    });
    if (signedIn) onSignedIn();
  };
  return (
    <section class="sign-in">
      <h1>Sign in to Widemesh</h1>
      <p>
        Use the admin token (printed by <code>scripts/up</code>, kept in the data directory as <code>admin-token</code>
        ).
      </p>
      <form onSubmit={submit} class="stacked">
        <label for="api-token">API token</label>
        <input
          id="api-token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={action.pending}>
          Sign in
        </button>
      </form>
      <ActionFeedback action={action} />
    </section>
  );
}
