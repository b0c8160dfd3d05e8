import { describe, expect, it } from 'vitest';
import { LogBus } from '../../../../server/logs/index.ts';
import type { LogLine } from '../../../../server/store/index.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

const temp = useTempStore();

describe('log bus', () => {
  it('persists seq-numbered lines, hides secrets, and lets a late follower replay then follow without gaps', () => {
    const store = temp.store();
    store.apps.create('shop');
    const build = store.builds.create(store.apps.environment('shop', 'production')!.id, 'abc');
    const bus = new LogBus(store);
    const log = bus.open(build.id, { API_TOKEN: 's3cr3t-value' });
    log.step('Building');
    log.info('token is s3cr3t-value\nsecond line');
    const seen: LogLine[] = [];
    let result: unknown;
    const stop = bus.follow(
      build.id,
      1,
      (l) => seen.push(l),
      (r) => (result = r),
    );
    log.error('boom');
    log.end({ ok: false, message: 'boom' });
    stop();
    expect(store.builds.log(build.id).map((l) => l.line)).toEqual([
      '-----> Building',
      '       token is [redacted]',
      '       second line',
      ' !     boom',
    ]);
    expect(seen.map((l) => l.seq)).toEqual([2, 3, 4]);
    expect(result).toEqual({ ok: false, message: 'boom' });
  });
});
