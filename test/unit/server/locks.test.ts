import { describe, expect, it } from 'vitest';
import { AppLocks } from '../../../server/locks.ts';

describe('app locks', () => {
  it('runs one task per key at a time, in arrival order, telling later ones they wait', async () => {
    const locks = new AppLocks();
    const order: string[] = [];
    let waited = 0;
    const task = (name: string, ms: number) => async () => {
      order.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}:end`);
    };
    await Promise.all([
      locks.run('shop', () => waited++, task('a', 30)),
      locks.run('shop', () => waited++, task('b', 1)),
      locks.run('other', () => waited++, task('c', 1)),
    ]);
    expect(order.indexOf('a:end')).toBeLessThan(order.indexOf('b:start'));
    expect(order.indexOf('c:end')).toBeLessThan(order.indexOf('a:end'));
    expect(waited).toBe(1);
  });
});
