import { type RackConfig, resolveRacks } from '../config.ts';
import type { SecretBox } from '../secrets.ts';
import type { Store } from '../store/index.ts';
import type { Rack } from './rack.ts';

interface EnvironmentRacks {
  racks: Rack[];
  parallel: boolean;
}

/**
 * Which racks an environment runs in: the ones set for it through the API (providers from
 * the store, unsealed only here), else the server's default racks. Rack objects are built
 * once per distinct configuration and reused.
 */
export class RackSet {
  private readonly built = new Map<string, Rack>();
  private readonly defaults: Rack[];

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly build: (config: RackConfig) => Rack,
    defaults: RackConfig[],
  ) {
    this.defaults = defaults.map((c) => this.rackFor(c));
  }

  private rackFor(config: RackConfig): Rack {
    const key = JSON.stringify(config);
    let rack = this.built.get(key);
    if (!rack) {
      rack = this.build(config);
      this.built.set(key, rack);
    }
    return rack;
  }

  /** Resolves stored rack specs against the stored providers (throws ConfigError on a bad spec). */
  resolve(specs: unknown[]): RackConfig[] {
    const providers = Object.fromEntries(
      this.store.racks.providers().map((p) => [p.name, JSON.parse(this.secrets.unseal(p.sealedSettings))]),
    );
    return resolveRacks(specs, providers, 'racks');
  }

  forEnvironment(environmentId: number): EnvironmentRacks {
    const chosen = this.store.racks.forEnvironment(environmentId);
    if (!chosen) return { racks: this.defaults, parallel: true };
    return { racks: this.resolve(chosen.racks).map((c) => this.rackFor(c)), parallel: chosen.rollout === 'parallel' };
  }

  /** The rack a placement names, among the environment's racks and the defaults. */
  named(environmentId: number, name: string): Rack | undefined {
    return [...this.forEnvironment(environmentId).racks, ...this.defaults, ...this.built.values()].find(
      (r) => r.name === name,
    );
  }

  /** Racks whose instances survive a server restart and are reconciled at start. */
  local(): Rack[] {
    return [...new Set([...this.defaults, ...this.built.values()])].filter((r) => r.reconcilable);
  }
}
