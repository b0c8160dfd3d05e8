/** Placeholder: the real page lands with its own branch (see the dashboard contract). */
export function LogsTab(props: { app: string; environment: string }) {
  return <p>{`${props.app} (${props.environment})`}</p>;
}
