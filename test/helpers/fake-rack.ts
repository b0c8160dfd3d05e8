import type { WidemeshError } from '../../server/errors.ts';
import type { FoundInstance, InstanceStatus, Rack, ReleaseSpec } from '../../server/racks/rack.ts';
import type { Instance } from '../../server/store/index.ts';

/**
 * A rack in memory that records what it was asked to do (`events`: "start v2",
 * "revert [a-v2] to v1", "stop [a-v1]") and the specs it started or reverted to; `failWith` makes every
 * start fail, `operation` holds start() until the test resolves it (a slow cloud operation).
 */
export class FakeRack implements Rack {
  readonly reconcilable = false;
  readonly events: string[] = [];
  readonly started: ReleaseSpec[] = [];
  /** The spec each revert went back to (undefined: nothing). */
  readonly revertedTo: (ReleaseSpec | undefined)[] = [];
  failWith?: WidemeshError;
  operation?: Promise<void>;

  constructor(readonly name: string) {}

  async start(spec: ReleaseSpec): Promise<Instance[]> {
    this.events.push(`start v${spec.version}`);
    this.started.push(spec);
    if (this.operation) await this.operation;
    if (this.failWith) throw this.failWith;
    return [{ id: `${this.name}-v${spec.version}`, service: 'web', host: '127.0.0.1', port: 1000 + spec.version }];
  }
  async revert(started: Instance[], previous: ReleaseSpec | undefined): Promise<void> {
    // a cloud rack's revert waits for the operation in flight before it deploys the previous release
    if (this.operation) await this.operation;
    this.revertedTo.push(previous);
    this.events.push(`revert [${ids(started)}] to ${previous ? `v${previous.version}` : 'nothing'}`);
  }
  async stop(instances: Instance[]): Promise<void> {
    this.events.push(`stop [${ids(instances)}]`);
  }
  async remove(instances: Instance[]): Promise<void> {
    this.events.push(`remove [${ids(instances)}]`);
  }
  async status(): Promise<InstanceStatus[]> {
    return [];
  }
  async restart(): Promise<void> {}
  async list(): Promise<FoundInstance[]> {
    return [];
  }
  async revive(): Promise<boolean> {
    return true;
  }
  async output(_i: Instance, _o: unknown, _l: unknown, onEnd: () => void): Promise<() => void> {
    onEnd();
    return () => {};
  }
}

const ids = (instances: Instance[]) => instances.map((i) => i.id).join(',');
