import crypto from 'node:crypto';
import type http from 'node:http';
import { WidemeshError } from '../errors.ts';

/** 503: answered with a Retry-After header of `retryAfter` seconds. */
export class BusyError extends WidemeshError {
  readonly retryAfter = 10;
  constructor() {
    super('WEBHOOKS_BUSY', 'too many webhook bodies are being received at once; deliver again shortly', 503);
  }
}

/** `sha256=<hex>` of a body whose HMAC-SHA256 was computed while it arrived, compared in constant time. */
function matches(hmac: crypto.Hmac, header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(`sha256=${hmac.digest('hex')}`);
  const got = Buffer.from(header);
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/**
 * Webhook bodies arrive before anything vouches for them: their HMAC is computed chunk by chunk
 * as they stream in, and the bytes held meanwhile are bounded across every request at once
 * (`maxInFlight`; each body reserves its Content-Length, or `maxBody` when it has none). A body
 * that would not fit is refused at once with 503 rather than read, one over `maxBody` with 413.
 */
export class UnverifiedBodies {
  private inFlight = 0;

  constructor(private readonly limits: { maxBody: number; maxInFlight: number }) {}

  /** The body, once its signature (`sha256=…` over the raw bytes) matches `secret`; 401 otherwise. */
  async read(req: http.IncomingMessage, secret: string, signature: unknown): Promise<Buffer> {
    const reserved = this.reserve(req);
    try {
      const hmac = crypto.createHmac('sha256', secret);
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        length += chunk.length;
        if (length > reserved) throw tooLarge(this.limits.maxBody);
        hmac.update(chunk);
        chunks.push(chunk);
      }
      if (!matches(hmac, signature))
        throw new WidemeshError('BAD_SIGNATURE', "the webhook signature does not match this app's secret", 401);
      return Buffer.concat(chunks, length);
    } finally {
      this.inFlight -= reserved;
    }
  }

  private reserve(req: http.IncomingMessage): number {
    const declared = req.headers['content-length'];
    const size = declared === undefined ? this.limits.maxBody : Number(declared);
    if (!Number.isSafeInteger(size) || size < 0 || size > this.limits.maxBody) throw tooLarge(this.limits.maxBody);
    if (this.inFlight + size > this.limits.maxInFlight) throw new BusyError();
    this.inFlight += size;
    return size;
  }
}

const tooLarge = (maxBody: number) =>
  new WidemeshError('BODY_TOO_LARGE', `a webhook body may have at most ${maxBody / 1024 / 1024} MiB`, 413);
