import { describe, expect, it } from 'vitest';
import { DeploySteps } from '../../../../server/store/deploy-steps.ts';
import { SessionStore } from '../../../../server/store/sessions.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

describe('dashboard sessions', () => {
  const { store } = useTempStore();

  it('opens a session only for a valid token, finds it by its cookie, and closes it', () => {
    const token = store().tokens.create('admin');
    const sessions = new SessionStore(store(), 60_000);
    expect(sessions.open('wm_wrong')).toBeUndefined();
    const opened = sessions.open(token)!;
    expect(opened.cookie).not.toBe(opened.csrfToken);
    expect(sessions.find(opened.cookie)).toEqual({ csrfToken: opened.csrfToken, expiresAt: opened.expiresAt });
    expect(sessions.find(`${opened.cookie}x`)).toBeUndefined();
    sessions.close(opened.cookie);
    expect(sessions.find(opened.cookie)).toBeUndefined();
  });

  it('does not find an expired session, nor one whose token was removed', () => {
    const token = store().tokens.create('admin');
    const expired = new SessionStore(store(), -1).open(token)!;
    expect(new SessionStore(store(), 60_000).find(expired.cookie)).toBeUndefined();
    const live = new SessionStore(store(), 60_000).open(token)!;
    store().db.prepare('DELETE FROM tokens').run();
    expect(new SessionStore(store(), 60_000).find(live.cookie)).toBeUndefined();
  });
});

describe('deploy steps', () => {
  const { store } = useTempStore();

  it("keeps each release's timed phases in the order they started, running ones without an end", () => {
    const app = store().apps.create('shop');
    const env = store().apps.environments(app.id)[0]!;
    const release = store().releases.create({
      environmentId: env.id,
      buildId: null,
      image: 'img',
      processes: {},
      config: {},
      manifest: {},
      description: 'Deploy abc',
    });
    const steps = new DeploySteps(store());
    steps.record(release.id, {
      phase: 'build',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:09.000Z',
      ok: true,
    });
    steps.start(release.id, 'rollout', 'local-a')(true);
    steps.start(release.id, 'rollout', 'local-b');
    const [build, a, b] = steps.ofReleases([release.id]).get(release.id)!;
    expect(build).toMatchObject({ phase: 'build', rack: null, ok: true, finishedAt: '2026-01-01T00:00:09.000Z' });
    expect(a).toMatchObject({ phase: 'rollout', rack: 'local-a', ok: true });
    expect(b).toMatchObject({ phase: 'rollout', rack: 'local-b', ok: null, finishedAt: null });
  });
});
