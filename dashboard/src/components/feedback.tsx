import type { ApiError } from '../api.ts';
import type { Action } from '../hooks.ts';

/** An action's progress or outcome (a live status line) and its error (an alert with the server's message). */
export function ActionFeedback({ action }: { action: Action }) {
  return (
    <div class="feedback">
      <p role="status" class={action.pending ? 'status-line pending' : 'status-line'}>
        {action.status}
      </p>
      {action.error && <ErrorMessage message={action.error} />}
    </div>
  );
}

export function ErrorMessage({ message }: { message: string }) {
  return (
    <p role="alert" class="error">
      {message}
    </p>
  );
}

/** What a read shows before it has data: "Loading…", or the server's error. */
export function LoadState({ error, what }: { error: ApiError | undefined; what: string }) {
  if (error) return <ErrorMessage message={error.message} />;
  return <p class="muted">{`Loading ${what}…`}</p>;
}
