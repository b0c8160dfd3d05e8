import { describe, expect, it } from 'vitest';
import { parseScale, processTable } from '../../../../cli/commands/ps.ts';
import { UsageError } from '../../../../cli/errors.ts';
import { fakeCli } from '../fake-context.ts';

describe('ps commands', () => {
  it.each([
    [['web=2'], { web: 2 }],
    [['web=0', 'worker=3'], { web: 0, worker: 3 }],
  ])('ps:scale %j → %j', (args, changes) => {
    expect(parseScale(args)).toEqual(changes);
  });

  it.each([[[]], [['web']], [['web=-1']], [['web=two']], [['Web=1']]])('ps:scale %j is a usage error', (args) => {
    expect(() => parseScale(args)).toThrow(UsageError);
  });

  it('ps:scale sends one request for the environment and says the new formation', async () => {
    const route = '/api/apps/shop/ps/scale?environment=staging';
    const cli = fakeCli({ [`POST ${route}`]: { environment: 'staging', formation: { web: 3, worker: 1 }, log: [] } });
    expect(await cli.run('ps:scale', 'web=3', '-a', 'shop', '-e', 'staging')).toBe(0);
    expect(cli.requests).toEqual([{ method: 'POST', route, body: { web: 3 } }]);
    expect(cli.stdout()).toBe('Scaled staging: web=3 worker=1 per rack\n');
  });

  it('ps shows each instance, and the last lines of a crashed one', () => {
    const row = { rack: 'local-a', release: 2, restarts: 0, exitCode: null, uptimeSeconds: 30 };
    const text = processTable({
      environment: 'production',
      formation: { web: 1, worker: 1 },
      instances: [
        { ...row, service: 'web', instance: 'aaaaaaaaaaaa', state: 'up' },
        {
          ...row,
          service: 'worker',
          instance: 'bbbbbbbbbbbb',
          state: 'crashed',
          restarts: 4,
          exitCode: 7,
          uptimeSeconds: null,
          lastLines: ['boom'],
        },
      ],
    });
    expect(text).toContain('formation: web=1 worker=1 (per rack)');
    expect(text).toMatch(/worker\s+local-a\s+bbbbbbbbbbbb\s+crashed \(exit 7\)\s+v2\s+4/);
    expect(text).toContain('worker bbbbbbbbbbbb (crashed) last printed:\n  boom');
  });
});
