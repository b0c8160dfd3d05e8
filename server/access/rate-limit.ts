import type http from 'node:http';
import { WidemeshError } from '../errors.ts';

/** 429: answered with a Retry-After header of `retryAfter` seconds. */
export class RateLimitedError extends WidemeshError {
  constructor(readonly retryAfter: number) {
    super('RATE_LIMITED', `too many unauthenticated requests from this address; retry in ${retryAfter}s`, 429);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before full ones are forgotten (a full bucket is the same as no bucket). */
const MAX_TRACKED = 10_000;

/**
 * A token bucket per source address for requests nobody vouched for (server/main.ts keeps one
 * for failed logins and one for refused webhook deliveries, so neither spends the other's).
 * `perMinute` requests may come at once; the bucket refills at that rate. Callers consult it only
 * once a request failed to authenticate: a valid token or session is never throttled.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly perMinute: number) {}

  /** Whether the address still has requests left, without spending one. */
  allows(req: http.IncomingMessage): boolean {
    return this.refilled(addressOf(req)).tokens >= 1;
  }

  /** Throws RATE_LIMITED (429, with Retry-After) when the address has no requests left. */
  check(req: http.IncomingMessage): void {
    const bucket = this.refilled(addressOf(req));
    if (bucket.tokens < 1) throw this.limited(bucket);
  }

  /** Spends one request of the address. */
  count(req: http.IncomingMessage): void {
    const bucket = this.refilled(addressOf(req));
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  /** The refusal an address over its limit gets, with the seconds until one more request is allowed. */
  limited(bucket = { tokens: 0 }): RateLimitedError {
    return new RateLimitedError(Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute)));
  }

  private refilled(address: string): Bucket {
    const now = Date.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    if (!this.buckets.has(address)) {
      if (this.buckets.size >= MAX_TRACKED) this.forgetFull();
      this.buckets.set(address, bucket);
    }
    return bucket;
  }

  private forgetFull(): void {
    const now = Date.now();
    for (const [address, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.perMinute) / 60_000 >= this.perMinute) this.buckets.delete(address);
    }
  }
}

const addressOf = (req: http.IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
