import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { ApiError } from '../../../cli/errors.ts';
import { type FollowOptions, followLogs, formatLogMessage, logsUrl } from '../../../cli/log-tail.ts';
import type { LogMessage } from '../../../contract/api.ts';

const buildLine = (seq: number): LogMessage => ({
  type: 'line',
  source: 'build',
  build: 7,
  seq,
  at: '2026-01-01T00:00:00Z',
  line: `line ${seq}`,
});

/** A log websocket server on 127.0.0.1 whose behaviour the test sets per connection. */
class FakeLogServer {
  readonly urls: string[] = [];
  onConnection: (ws: WebSocket, query: URLSearchParams) => void = () => {};
  refuseWith?: number;
  private server = http.createServer();
  private wss = new WebSocketServer({ noServer: true });
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = http.createServer();
    this.server.on('upgrade', (req, socket, head) => {
      this.urls.push(req.url ?? '');
      if (this.refuseWith) return void socket.end(`HTTP/1.1 ${this.refuseWith} No\r\nConnection: close\r\n\r\n`);
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, query));
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Like a crash: open connections are cut, new ones refused until start() again. */
  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('following the log websocket', () => {
  let server: FakeLogServer;
  const stops: AbortController[] = [];
  afterEach(async () => {
    for (const s of stops) s.abort();
    await server?.stop().catch(() => {});
  });

  const follow = (tail: boolean, overrides: Partial<FollowOptions> = {}) => {
    const written: string[] = [];
    const warnings: string[] = [];
    const stop = new AbortController();
    stops.push(stop);
    const done = followLogs({
      serverUrl: `http://127.0.0.1:${server.port}`,
      token: 'wm_test',
      request: { app: 'shop', source: 'build', tail },
      write: (line) => written.push(line),
      warn: (line) => warnings.push(line),
      stop: stop.signal,
      backoff: { firstMs: 20, maxMs: 100 },
      ...overrides,
    });
    return { written, warnings, stop, done };
  };
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(condition()).toBe(true);
  };

  it('survives a server restart mid-build: resumes after the last line, none lost or repeated', async () => {
    server = new FakeLogServer();
    await server.start();
    const port = server.port;
    let connections = 0;
    server.onConnection = (ws, query) => {
      connections += 1;
      const since = Number(query.get('since') ?? 0);
      // the second server also repeats the line at `since`: the client must not show it twice
      const from = connections === 1 ? 1 : since;
      const to = connections === 1 ? 3 : 6;
      for (let seq = from; seq <= to; seq++) ws.send(JSON.stringify(buildLine(seq)));
      if (connections > 1) {
        ws.send(JSON.stringify({ type: 'end', source: 'build', build: 7, ok: true, message: 'succeeded' }));
        ws.close(1000, 'end of log');
      }
    };
    const tail = follow(true);
    await until(() => tail.written.length === 3);
    await server.stop();
    await until(() => tail.warnings.length >= 2); // refused at least once while the server was down
    await server.start(port);
    await tail.done;

    expect(tail.written).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
    expect(server.urls[0]).toBe('/api/apps/shop/logs?source=build&tail=1');
    expect(server.urls.at(-1)).toBe('/api/apps/shop/logs?source=build&tail=1&build=7&since=3');
    expect(tail.warnings[0]).toMatch(/^log stream lost \(.*\); reconnecting in 0\.02s$/);
  });

  it('waits longer after each failed attempt, up to the maximum', async () => {
    server = new FakeLogServer();
    await server.start();
    await server.stop();
    const tail = follow(true);
    await until(() => tail.warnings.length >= 5);
    tail.stop.abort();
    await tail.done;
    const waits = tail.warnings.map((w) => w.match(/in ([\d.]+)s/)![1]);
    expect(waits.slice(0, 5)).toEqual(['0.02', '0.04', '0.08', '0.1', '0.1']);
  });

  it('stops cleanly when asked while waiting to reconnect, without connecting again', async () => {
    server = new FakeLogServer();
    await server.start();
    let connections = 0;
    server.onConnection = (ws) => {
      connections += 1;
      if (connections === 1) ws.terminate(); // the second would stay open for ever
    };
    const tail = follow(true, { backoff: { firstMs: 60_000, maxMs: 60_000 } });
    await until(() => tail.warnings.length === 1);
    tail.stop.abort();
    await tail.done;
    expect(server.urls).toHaveLength(1);
  });

  it('stops cleanly when asked (Ctrl-C) while connected', async () => {
    server = new FakeLogServer();
    await server.start();
    server.onConnection = (ws) => ws.send(JSON.stringify(buildLine(1)));
    const tail = follow(true);
    await until(() => tail.written.length === 1);
    tail.stop.abort();
    await tail.done;
    expect(tail.warnings).toEqual([]);
  });

  it('gives up at once when the server refuses (bad token, unknown app)', async () => {
    server = new FakeLogServer();
    await server.start();
    server.refuseWith = 401;
    const tail = follow(true);
    await expect(tail.done).rejects.toMatchObject({ status: 401, code: 'LOG_STREAM_REFUSED' });
    await expect(tail.done).rejects.toBeInstanceOf(ApiError);
    expect(server.urls).toHaveLength(1);
  });

  it('does not retry a one-off read (no --tail): a drop is an error', async () => {
    server = new FakeLogServer();
    await server.start();
    server.onConnection = (ws) => {
      ws.send(JSON.stringify(buildLine(1)));
      ws.terminate();
    };
    const read = follow(false);
    await expect(read.done).rejects.toMatchObject({ code: 'LOG_STREAM_FAILED' });
    expect(read.written).toEqual([]); // the last lines of an unfinished read are not known
  });

  it('starts following app output with its last lines in time order across racks, then resumes after them', async () => {
    server = new FakeLogServer();
    await server.start();
    const line = (rack: string, second: number): LogMessage => ({
      ...{ type: 'line', source: 'app', rack, instance: 'abcdef123456', service: 'web', stream: 'stdout' },
      at: `2026-01-01T00:00:0${second}.000000001Z`,
      line: `${rack} ${second}`,
    });
    server.onConnection = (ws, query) => {
      if (query.get('tail') === '0') {
        // each rack's lines come in a block, as a one-off read sends them
        for (const m of [line('local-a', 1), line('local-a', 4), line('local-b', 2), line('local-b', 3)])
          ws.send(JSON.stringify(m));
        return void ws.close(1000);
      }
      for (const m of [line('local-a', 4), line('local-b', 5)]) ws.send(JSON.stringify(m));
    };
    const tail = follow(true, { request: { app: 'shop', source: 'app', tail: true, lines: 3 } });
    await until(() => tail.written.length === 4);
    expect(tail.written.map((l) => l.replace(/^\S+ /, '').replace(/\[.*\]/, ''))).toEqual([
      'local-b: local-b 2',
      'local-b: local-b 3',
      'local-a: local-a 4',
      'local-b: local-b 5',
    ]);
    expect(server.urls).toEqual([
      '/api/apps/shop/logs?source=app&tail=0',
      `/api/apps/shop/logs?source=app&tail=1&after=${encodeURIComponent('2026-01-01T00:00:04.000000001Z')}`,
    ]);
  });
});

describe('log messages and URLs', () => {
  it('formats each kind of message', () => {
    const app: LogMessage = {
      type: 'line',
      source: 'app',
      at: 'T',
      rack: 'local-a',
      instance: '0123456789ab',
      service: 'web',
      stream: 'stdout',
      line: 'hi',
    };
    expect(formatLogMessage(app)).toBe('T local-a[web.012345]: hi');
    expect(formatLogMessage(buildLine(3))).toBe('line 3');
    const router: LogMessage = {
      type: 'line',
      source: 'router',
      at: 'T',
      method: 'GET',
      path: '/',
      status: 200,
      ms: 3,
      line: 'GET / 200 3ms',
    };
    expect(formatLogMessage(router)).toBe('T router: GET / 200 3ms');
    const hostile = {
      ...app,
      line: 'click \x1b]8;;http://evil.example/\x07here\x1b]8;;\x07 \x1b[2J\x1b[31mred\x1b[0m\r\x07\tok',
    };
    expect(formatLogMessage(hostile)).toBe('T local-a[web.012345]: click here red\tok');
    expect(formatLogMessage({ type: 'dropped', count: 4 })).toBe('(dropped 4 lines: the connection was too slow)');
    expect(formatLogMessage({ type: 'end', source: 'build', build: null, ok: false, message: 'x' })).toBe(
      '(no builds yet)',
    );
    expect(formatLogMessage({ type: 'end', source: 'build', build: 2, ok: true, message: 'x' })).toBeUndefined();
  });

  it('asks for the environment and build, and resumes from the position', () => {
    const request = { app: 'my-app', environment: 'staging', source: 'all' as const, tail: true, build: 4 };
    expect(logsUrl('https://wm.test', request, {})).toBe(
      'wss://wm.test/api/apps/my-app/logs?source=all&tail=1&environment=staging&build=4',
    );
    expect(logsUrl('http://wm.test', { app: 'a', source: 'build', tail: false }, { build: 9, seq: 12 })).toBe(
      'ws://wm.test/api/apps/a/logs?source=build&tail=0&build=9&since=12',
    );
  });
});
