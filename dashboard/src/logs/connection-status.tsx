import type { ConnectionState } from './use-log-stream.ts';

const WORDS: Record<ConnectionState | 'paused', string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Ended',
  paused: 'Paused',
};

/** The stream's state in one word (role="status": announced when it changes). */
export function ConnectionStatus(props: { connection: ConnectionState; paused?: boolean }) {
  const state = props.paused ? 'paused' : props.connection;
  return (
    <p role="status" class={`log-status log-state-${state}`}>
      {WORDS[state]}
    </p>
  );
}
