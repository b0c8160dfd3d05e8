import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api.ts';

/** What a page shows for one API read: the data once it came, the server's error, and a way to read again. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload: () => Promise<void>;
}

/** Reads an API path (again whenever the path changes; every pollMs while the page is visible, if given). */
export function useApi<T>(path: string, pollMs = 0): Loaded<T> {
  const [state, setState] = useState<{ path: string; data?: T; error?: ApiError }>({ path });
  const latestRequest = useRef(0);
  const reload = useCallback(async () => {
    const request = ++latestRequest.current;
    try {
      const data = await get<T>(path);
      if (request === latestRequest.current) setState({ path, data });
    } catch (err) {
      if (request !== latestRequest.current) return;
      // keep what was shown (a poll that fails should not blank the page), with the error next to it
      setState((previous) => ({
        path,
        data: previous.path === path ? previous.data : undefined,
        error: asApiError(err),
      }));
    }
  }, [path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  usePolling(reload, pollMs);
  const current = state.path === path ? state : { path, data: undefined, error: undefined };
  return { data: current.data, error: current.error, reload };
}

function usePolling(poll: () => Promise<void>, everyMs: number): void {
  useEffect(() => {
    if (everyMs <= 0) return;
    const timer = setInterval(() => {
      if (!document.hidden) void poll();
    }, everyMs);
    return () => clearInterval(timer);
  }, [poll, everyMs]);
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err));
}

/** One page's actions: what is in progress or how the last one ended (status), or the server's refusal (error). */
export interface Action {
  pending: boolean;
  status: string;
  error: string;
  /** Shows `progress` while `act` runs, then the message it returns, or its error; refreshes afterwards either way. */
  run: (progress: string, act: () => Promise<string>) => Promise<boolean>;
}

export function useAction(refresh?: () => Promise<void>): Action {
  const [state, setState] = useState({ pending: false, status: '', error: '' });
  const run = useCallback(
    async (progress: string, act: () => Promise<string>) => {
      setState({ pending: true, status: progress, error: '' });
      let outcome: { status: string; error: string };
      try {
        outcome = { status: await act(), error: '' };
      } catch (err) {
        outcome = { status: '', error: asApiError(err).message };
      }
      // the page shows the new state before it says the action is done
      await refresh?.();
      setState({ pending: false, ...outcome });
      return outcome.error === '';
    },
    [refresh],
  );
  return { ...state, run };
}
