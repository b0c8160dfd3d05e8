import { describe, expect, it } from 'vitest';
import { environmentViewer } from '../../../../server/api/views.ts';
import type { Store } from '../../../../server/store/index.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

type Step = (store: Store, environmentId: number) => void;

const release =
  (status: 'succeeded' | 'failed' | 'deploying', instances = 1): Step =>
  (store, environmentId) => {
    const draft = { buildId: null, image: 'img', processes: {}, config: {}, manifest: {}, description: 'Deploy' };
    const r = store.releases.create({ environmentId, ...draft });
    if (status !== 'deploying') store.releases.finish(r.id, status);
    if (status !== 'succeeded') return;
    const running = Array.from({ length: instances }, (_, i) => ({ id: `c${i}`, service: 'web', host: 'h', port: 1 }));
    store.placements.set({ environmentId, rack: 'local-a', releaseId: r.id, instances: running });
  };
const build =
  (status: 'building' | 'succeeded' | 'failed'): Step =>
  (store, environmentId) => {
    const b = store.builds.create(environmentId, 'abc');
    if (status !== 'building') store.builds.finish(b.id, status);
  };

describe('environment status', () => {
  const { store } = useTempStore();
  const cases: [string, Step[], string][] = [
    ['never deployed', [], 'new'],
    ['first build running', [build('building')], 'deploying'],
    ['first build failed', [build('failed')], 'failed'],
    ['first release failed', [build('succeeded'), release('failed')], 'failed'],
    ['a release serving', [build('succeeded'), release('succeeded')], 'live'],
    ['a failed push over a live release', [release('succeeded'), build('failed')], 'live'],
    ['a release rolling out over a live one', [release('succeeded'), release('deploying')], 'deploying'],
    ['every instance stopped', [release('succeeded', 0)], 'stopped'],
  ];
  for (const [what, steps, status] of cases) {
    it(`${what}: ${status}`, () => {
      const app = store().apps.create('shop');
      const env = store().apps.environments(app.id)[0]!;
      for (const step of steps) step(store(), env.id);
      expect(environmentViewer(store(), () => 'http://shop.localhost/')(env).status).toBe(status);
    });
  }
});
