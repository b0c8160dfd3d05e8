/** Placeholder: the real page lands with its own branch (see the dashboard contract). */
export function BuildLogPage(props: { app: string; environment: string; build: number }) {
  return <p>{`${props.app} (${props.environment}) build ${props.build}`}</p>;
}
