/** One deploy per app at a time: later callers queue in arrival order and are told they wait. */
export class AppLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, onWait: () => void, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = (previous ?? Promise.resolve()).then(() => mine);
    this.tails.set(key, tail);
    if (previous) {
      onWait();
      await previous;
    }
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
