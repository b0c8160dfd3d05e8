import { describe, expect, it } from 'vitest';
import { addressLabels, addressOf, dockerTime, instanceEnv, instanceState } from '../../../../server/racks/local.ts';

describe('local rack (the parts that need no Docker)', () => {
  it('gives a process its config, its DYNO and, for web only, its PORT', () => {
    expect(instanceEnv({ GREETING: 'hi', URL: 'a=b' }, 'web.2', 5000)).toEqual([
      'GREETING=hi',
      'URL=a=b',
      'DYNO=web.2',
      'PORT=5000',
    ]);
    expect(instanceEnv({}, 'worker.1', undefined)).toEqual(['DYNO=worker.1']);
  });

  it('tells up, stopped and crash-looping instances apart', () => {
    expect(instanceState({ Running: true, Restarting: false }, 0)).toBe('up');
    expect(instanceState({ Running: true, Restarting: false }, 2)).toBe('up');
    expect(instanceState({ Running: true, Restarting: false }, 3)).toBe('crashed');
    expect(instanceState({ Running: false, Restarting: true }, 0)).toBe('crashed');
    expect(instanceState({ Running: false, Restarting: false }, 0)).toBe('stopped');
  });

  it('finds an instance again from the labels it was started with', () => {
    const isolated = { port: 5000, socket: '/data/sockets/a.sock', sandbox: 'relay-id' };
    const labels = { 'widemesh.service': 'web', ...addressLabels(isolated) };
    expect(addressOf(labels)).toEqual({ service: 'web', host: '127.0.0.1', ...isolated });
    const hostNetwork = { 'widemesh.service': 'worker', ...addressLabels({ port: 0 }) };
    expect(addressOf(hostNetwork)).toEqual({ service: 'worker', host: '127.0.0.1', port: 0 });
  });

  it("turns RFC 3339 times into Docker's SECONDS.NANOSECONDS and refuses anything else", () => {
    expect(dockerTime('2026-01-02T03:04:05.123456789Z')).toBe('1767323045.123456789');
    expect(dockerTime('2026-01-02T04:04:05+01:00')).toBe('1767323045.000000000');
    expect(() => dockerTime('yesterday')).toThrow('"yesterday" is not an RFC 3339 time');
  });
});
