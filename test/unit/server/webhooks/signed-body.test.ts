import crypto from 'node:crypto';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UnverifiedBodies } from '../../../../server/webhooks/signed-body.ts';

/** A request whose body arrives in `chunks`; `length` is its Content-Length (none when undefined). */
function body(chunks: string[], length?: number): http.IncomingMessage {
  const req = Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as http.IncomingMessage;
  req.headers = length === undefined ? {} : { 'content-length': String(length) };
  return req;
}
const sign = (text: string) => `sha256=${crypto.createHmac('sha256', 's3cret').update(text).digest('hex')}`;

describe('unverified webhook bodies', () => {
  it('answers the body whose HMAC, computed as it streams, matches; 401 otherwise', async () => {
    const bodies = new UnverifiedBodies({ maxBody: 100, maxInFlight: 100 });
    const read = await bodies.read(body(['{"a":', '1}'], 7), 's3cret', sign('{"a":1}'));
    expect(read.toString()).toBe('{"a":1}');
    await expect(bodies.read(body(['{"a":2}'], 7), 's3cret', sign('{"a":1}'))).rejects.toMatchObject({
      code: 'BAD_SIGNATURE',
      status: 401,
    });
  });

  it('refuses a body over the cap (declared or not) with 413, and bodies that would not fit with 503', async () => {
    const bodies = new UnverifiedBodies({ maxBody: 10, maxInFlight: 15 });
    await expect(bodies.read(body(['x'], 11), 's3cret', sign('x'))).rejects.toMatchObject({ status: 413 });
    await expect(bodies.read(body(['x'.repeat(11)]), 's3cret', '')).rejects.toMatchObject({ status: 413 });
    await expect(bodies.read(body(['xx'], 1), 's3cret', '')).rejects.toMatchObject({ status: 413 });
    const slow = new Readable({ read() {} }) as unknown as http.IncomingMessage;
    slow.headers = { 'content-length': '10' };
    const first = bodies.read(slow, 's3cret', sign('0123456789'));
    await expect(bodies.read(body(['123456'], 6), 's3cret', sign('123456'))).rejects.toMatchObject({
      code: 'WEBHOOKS_BUSY',
      status: 503,
    });
    expect((await bodies.read(body(['12345'], 5), 's3cret', sign('12345'))).toString()).toBe('12345');
    (slow as unknown as Readable).push('0123456789');
    (slow as unknown as Readable).push(null);
    expect((await first).toString()).toBe('0123456789');
    // what the first held is given back
    expect((await bodies.read(body(['x'.repeat(10)], 10), 's3cret', sign('x'.repeat(10)))).length).toBe(10);
  });
});
