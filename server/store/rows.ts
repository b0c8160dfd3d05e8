/** Seals values at rest (server/secrets.ts SecretBox). */
export interface Sealer {
  seal(plain: string): string;
  unseal(sealed: string): string;
}

// biome-ignore lint/suspicious/noExplicitAny: SQLite rows are untyped; each table's to* mapper is the typed boundary
export type Row = Record<string, any>;

/** SQLite's current time, as every table stores it. */
export const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

/**
 * Something the edge routes by changed (apps, environments, placements, edge settings, domains).
 * The store emits it after each such write; main.ts wires it to the edge, which re-renders nginx.
 */
export class RoutingEvents {
  private readonly listeners: (() => void)[] = [];

  on(listener: () => void): void {
    this.listeners.push(listener);
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }
}
