import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFile, httpTransport, settingsStore } from '../../../cli/client.ts';
import { ApiError, UsageError } from '../../../cli/errors.ts';

const settings = { url: 'http://127.0.0.1:7070', token: 'wm_secret' };

/** A fetch that records the request and answers `status` with `body`. */
function answering(status: number, body: string) {
  const seen: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    seen.push({ url, init });
    return new Response(body, { status });
  }) as typeof fetch;
  return { seen, fetchImpl };
}

describe('the API transport', () => {
  it('sends the token and a JSON body, and answers the parsed JSON', async () => {
    const { seen, fetchImpl } = answering(200, '{"ok":true}');
    expect(await httpTransport(settings, fetchImpl)('PATCH', '/api/apps/a/config', { A: '1' })).toEqual({ ok: true });
    expect(seen[0]!.url).toBe('http://127.0.0.1:7070/api/apps/a/config');
    expect(seen[0]!.init).toMatchObject({
      method: 'PATCH',
      headers: { authorization: 'Bearer wm_secret', 'content-type': 'application/json' },
      body: '{"A":"1"}',
    });
  });

  it("turns the server's error into an ApiError with its code and message", async () => {
    const { fetchImpl } = answering(
      404,
      '{"error":{"code":"APP_NOT_FOUND","message":"there is no app named \\"x\\""}}',
    );
    const failure = httpTransport(settings, fetchImpl)('GET', '/api/apps/x');
    await expect(failure).rejects.toMatchObject({
      code: 'APP_NOT_FOUND',
      status: 404,
      message: 'there is no app named "x"',
    });
  });

  it('says what went wrong when the answer is not JSON or the server cannot be reached', async () => {
    const html = httpTransport(settings, answering(502, '<html>bad gateway</html>').fetchImpl)('GET', '/api/apps');
    await expect(html).rejects.toMatchObject({ code: 'NOT_JSON' });
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:7070') });
    }) as typeof fetch;
    const unreachable = httpTransport(settings, refused)('GET', '/api/apps');
    await expect(unreachable).rejects.toBeInstanceOf(ApiError);
    await expect(unreachable).rejects.toThrow(
      'cannot reach http://127.0.0.1:7070 (connect ECONNREFUSED 127.0.0.1:7070)',
    );
  });
});

describe('the saved login', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is kept readable by its owner only, and reads back', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-cli-'));
    const store = settingsStore(path.join(dir, 'widemesh', 'config.json'));
    expect(() => store.load()).toThrow(UsageError);
    store.save(settings);
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
    expect(store.load()).toEqual(settings);
    fs.writeFileSync(store.file, '{"url": 1}');
    expect(() => store.load()).toThrow(/has no url and token/);
  });

  it('lives in WIDEMESH_CONFIG, else under XDG_CONFIG_HOME or ~/.config', () => {
    expect(configFile({ WIDEMESH_CONFIG: '/x/c.json', XDG_CONFIG_HOME: '/xdg' })).toBe('/x/c.json');
    expect(configFile({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/widemesh/config.json');
    expect(configFile({})).toBe(path.join(os.homedir(), '.config', 'widemesh', 'config.json'));
  });
});
