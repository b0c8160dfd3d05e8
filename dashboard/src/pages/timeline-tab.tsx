/** Placeholder: the real page lands with its own branch (see the dashboard contract). */
export function TimelineTab(props: { app: string; environment: string }) {
  return <p>{`${props.app} (${props.environment})`}</p>;
}
