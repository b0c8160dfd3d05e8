import type { Rack } from '../racks/rack.ts';
import type { Instance } from '../store/index.ts';

/** One app output line, serialised once for every client that follows the instance. */
export type Frame = Buffer;

interface Follower {
  clients: Map<number, { onFrame: (frame: Frame) => void; onEnd: () => void }>;
  stop?: () => void;
}

/**
 * Live app output shared by every websocket client following the same instance: one Docker log
 * stream per instance, and each line masked and serialised to JSON once, however many clients
 * tail it. (One stream and one JSON.stringify per client made the p99 delivery time grow with
 * the number of clients.)
 */
export class AppOutputHub {
  private readonly followers = new Map<string, Follower>();
  private nextClient = 1;

  /**
   * Follows the instance's new output for one client; `toFrame` turns a line into the frame sent
   * (it runs once per line). Resolves to the function that ends this client's subscription.
   */
  async follow(
    rack: Rack,
    instance: Instance,
    toFrame: (line: { at: string; stream: string; line: string }) => Frame,
    onFrame: (frame: Frame) => void,
    onEnd: () => void,
  ): Promise<() => void> {
    const id = this.nextClient++;
    let follower = this.followers.get(instance.id);
    if (!follower) {
      follower = { clients: new Map() };
      this.followers.set(instance.id, follower);
      await this.start(rack, instance, follower, toFrame);
    }
    follower.clients.set(id, { onFrame, onEnd });
    return () => this.leave(instance.id, follower, id);
  }

  private async start(
    rack: Rack,
    instance: Instance,
    follower: Follower,
    toFrame: (line: { at: string; stream: string; line: string }) => Frame,
  ): Promise<void> {
    const ended = () => {
      if (this.followers.get(instance.id) === follower) this.followers.delete(instance.id);
      for (const client of follower.clients.values()) client.onEnd();
      follower.clients.clear();
    };
    try {
      follower.stop = await rack.output(
        instance,
        { tail: 0, follow: true },
        (line) => {
          if (follower.clients.size === 0) return;
          const frame = toFrame(line);
          for (const client of follower.clients.values()) client.onFrame(frame);
        },
        ended,
      );
    } catch (err) {
      ended(); // clients that joined while it started
      this.followers.delete(instance.id);
      throw err;
    }
  }

  private leave(instanceId: string, follower: Follower, client: number): void {
    follower.clients.delete(client);
    if (follower.clients.size > 0 || this.followers.get(instanceId) !== follower) return;
    this.followers.delete(instanceId);
    follower.stop?.();
  }
}
