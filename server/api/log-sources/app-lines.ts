import type pino from 'pino';
import type { LogMessage } from '../../../contract/api.ts';
import { errorMessage } from '../../errors.ts';
import type { OutputLine, Rack } from '../../racks/rack.ts';
import type { RackSet } from '../../racks/rack-set.ts';
import type { Instance, Store } from '../../store/index.ts';
import type { AppOutputHub } from '../app-output.ts';
import type { LogClient } from './client.ts';

/** How often a follower looks for instances of a new release (or a new scale). */
const ATTACH_POLL_MS = 1000;
/** Lines of each instance a one-off read shows. */
const ONE_OFF_TAIL = 100;

interface AppLineDeps {
  store: Store;
  racks: RackSet;
  hub: AppOutputHub;
  logger: pino.Logger;
}

/**
 * App output of every instance in every rack. A one-off read (tail=0) ends once every instance's
 * last lines are sent; a follower keeps attaching to the instances new releases bring.
 */
export function streamAppLines(client: LogClient, deps: AppLineDeps): void {
  const attached = new Set<string>();
  let pending = 0;
  const oneOffDone = () => !client.follow && pending === 0 && client.source === 'app';
  const attachAll = async () => {
    for (const placement of deps.store.placements.of(client.env.id)) {
      const rack = deps.racks.named(client.env.id, placement.rack);
      for (const instance of placement.instances) {
        if (!rack || attached.has(instance.id) || client.closed) continue;
        attached.add(instance.id);
        pending += 1;
        const ended = () => {
          attached.delete(instance.id);
          pending -= 1;
          if (oneOffDone()) client.finish();
        };
        await attach(client, deps, rack, instance, ended);
      }
    }
  };
  void attachAll().then(() => {
    if (oneOffDone()) client.finish();
  });
  if (client.follow) {
    const poll = setInterval(() => void attachAll(), ATTACH_POLL_MS);
    client.onClose(() => clearInterval(poll));
  }
}

/**
 * Follows one instance: live followers share the hub's one stream per instance; a resumed
 * client reads the instance from `after` on (the shared stream starts at now); a one-off read
 * takes the last lines.
 */
async function attach(client: LogClient, deps: AppLineDeps, rack: Rack, instance: Instance, ended: () => void) {
  const message = (l: Pick<OutputLine, 'at' | 'line'> & { stream: string }): LogMessage => ({
    type: 'line',
    source: 'app',
    at: l.at,
    rack: rack.name,
    instance: instance.id.slice(0, 12),
    service: instance.service,
    stream: l.stream,
    line: client.mask(l.line),
  });
  try {
    const { follow, after } = client;
    const stop =
      follow && !after
        ? await deps.hub.follow(rack, instance, (l) => Buffer.from(JSON.stringify(message(l))), client.send, ended)
        : await rack.output(
            instance,
            { tail: ONE_OFF_TAIL, follow, since: after },
            (l) => client.send(message(l)),
            ended,
          );
    client.onClose(stop);
  } catch (err) {
    ended();
    deps.logger.debug({ err: errorMessage(err) }, 'could not follow an instance');
  }
}
