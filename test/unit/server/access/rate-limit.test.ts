import type http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedError, RateLimiter } from '../../../../server/access/rate-limit.ts';

const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as http.IncomingMessage;

describe('rate limiter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets an address spend its allowance, then refuses it with a Retry-After until it refills', () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter(3);
    for (let i = 0; i < 3; i++) {
      limiter.check(from('127.0.0.2'));
      limiter.count(from('127.0.0.2'));
    }
    expect(() => limiter.check(from('127.0.0.2'))).toThrow(RateLimitedError);
    try {
      limiter.check(from('127.0.0.2'));
    } catch (err) {
      expect((err as RateLimitedError).status).toBe(429);
      expect((err as RateLimitedError).retryAfter).toBe(20); // one request per 20 s at 3 a minute
    }
    expect(limiter.allows(from('127.0.0.3'))).toBe(true); // other addresses are not affected
    vi.advanceTimersByTime(20_000);
    expect(limiter.allows(from('127.0.0.2'))).toBe(true);
  });
});
