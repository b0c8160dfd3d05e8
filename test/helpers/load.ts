import http from 'node:http';

export interface LoadResult {
  requests: number;
  perSecond: number;
  /** answers that were not 2xx/3xx, and connection errors */
  failures: string[];
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/**
 * A bounded load generator: `connections` keep-alive connections to one 127.0.0.1 port, each
 * sending GETs back to back for `durationMs` (or, with `until`, until it settles, at most
 * 15 minutes), then it stops. Latencies in milliseconds.
 */
export async function runLoad(opts: {
  port: number;
  host?: string;
  path?: string;
  connections: number;
  durationMs: number;
  until?: Promise<unknown>;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = Date.now();
  let deadline = started + (opts.until ? 15 * 60_000 : Math.min(opts.durationMs, 120_000));
  const stop = () => {
    deadline = 0;
  };
  opts.until?.then(stop, stop);
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = process.hrtime.bigint();
      const headers = opts.host ? { host: opts.host } : {};
      const req = http.get(
        { host: '127.0.0.1', port: opts.port, path: opts.path ?? '/', agent, headers, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
            if ((res.statusCode ?? 0) >= 400) failures.push(`status ${res.statusCode}`);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        failures.push(err.message);
        resolve();
      });
    });
  const connection = async () => {
    while (Date.now() < deadline) await one();
  };
  await Promise.all(Array.from({ length: opts.connections }, connection));
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    perSecond: latencies.length / ((Date.now() - started) / 1000),
    failures,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}
