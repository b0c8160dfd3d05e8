import type { LogBus } from '../../logs/index.ts';
import type { Build, Store } from '../../store/index.ts';
import type { LogClient } from './client.ts';

/**
 * Build logs: the requested build (or the environment's latest), replayed from the store after
 * `since`, then live. A continuous tail (source=all) goes on with every build the environment
 * starts later, and one resumed at an older build also gets the builds started while it was away.
 */
export function streamBuildLines(client: LogClient, deps: { store: Store; logs: LogBus }): void {
  const { store } = deps;
  const { env } = client;
  const relayed = new Set<number>();
  const relay = (build: Build, since: number) => {
    if (relayed.has(build.id)) return;
    relayed.add(build.id);
    relayBuild(client, deps, build, since);
  };
  const continuous = client.source === 'all' && client.follow;
  if (continuous) {
    client.onClose(
      deps.logs.onOpen((id) => {
        const build = store.builds.get(id);
        if (build?.environmentId === env.id) relay(build, 0);
      }),
    );
  }
  const build = client.build ? store.builds.get(client.build) : store.builds.list(env.id, 1)[0];
  if (!build || build.environmentId !== env.id) {
    if (client.build || client.source === 'build') ended(client, null, false, 'no such build');
    return;
  }
  relay(build, client.since);
  if (continuous) for (const later of laterBuilds(store, build)) relay(later, 0);
}

function relayBuild(client: LogClient, deps: { store: Store; logs: LogBus }, build: Build, since: number): void {
  const onLine = (l: { seq: number; at: string; line: string }) =>
    client.send({ type: 'line', source: 'build', build: build.id, seq: l.seq, at: l.at, line: l.line });
  if (build.status === 'building' && client.follow) {
    client.onClose(deps.logs.follow(build.id, since, onLine, (r) => ended(client, build.id, r.ok, r.message)));
    return;
  }
  for (const l of deps.store.builds.log(build.id, since)) onLine(l);
  ended(client, build.id, build.status === 'succeeded', build.error ?? build.status);
}

function ended(client: LogClient, build: number | null, ok: boolean, message: string): void {
  client.send({ type: 'end', source: 'build', build, ok, message });
  if (client.source === 'build') client.finish();
}

/** The environment's builds newer than `build`, oldest first. */
function laterBuilds(store: Store, build: Build): Build[] {
  return store.builds
    .list(build.environmentId)
    .filter((b) => b.id > build.id)
    .reverse();
}
