import type { ComponentChildren } from 'preact';
import type { Action, Loaded } from '../hooks.ts';

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

/**
 * A read's data drawn by `children`; before it came, "Loading…" or the server's error. A later read
 * that fails (a poll, the refresh after an action) keeps the data and shows the error under it.
 */
export function WhenLoaded<T>({
  read,
  what,
  children,
}: {
  read: Loaded<T>;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (read.data === undefined) {
    if (read.error) return <ErrorMessage message={read.error.message} />;
    return <p class="muted">{`Loading ${what}…`}</p>;
  }
  return (
    <>
      {children(read.data)}
      {read.error && <ErrorMessage message={`Refreshing ${what} failed: ${read.error.message}`} />}
    </>
  );
}
