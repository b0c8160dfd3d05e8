import { spawnSync } from 'node:child_process';
import type http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RESULT_MARKER } from '../../../../hooks/protocol.mjs';
import { pushRoutes } from '../../../../server/api/push.ts';
import { Environments } from '../../../../server/environments.ts';
import type { WidemeshError } from '../../../../server/errors.ts';
import { pipelineWith } from '../../../helpers/fake-pipeline.ts';
import { tarOf } from '../../../helpers/tar.ts';
import { useTempStore } from '../../../helpers/temp-store.ts';

const SECRET = 'hook-secret';
const OLD = '0'.repeat(40);
const COMMIT = 'c'.repeat(40);
/** The pid of a receive-pack that already exited: git has finished updating its refs. */
const EXITED_PID = spawnSync('true').pid!;

const temp = useTempStore();
let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** The push routes over HTTP on 127.0.0.1, with a real pipeline on fake racks; `branch` is what git reports. */
async function startRoutes(branch: { at: string | null; afterPush: string | null }) {
  const store = temp.store();
  const { pipeline, logs, fakes } = pipelineWith(store);
  let reads = 0;
  const git = { branchAt: async () => (reads++ === 0 ? branch.at : branch.afterPush) };
  // routing a push to an environment reads only the store
  const environments = new Environments({ store } as never);
  const logger = pino({ level: 'silent' });
  const app = express();
  const lifecycle = { removeEnvironment: async () => {} };
  app.use(pushRoutes({ store, git, pipeline, logs, environments, lifecycle, hookSecret: SECRET, logger }));
  app.use((err: WidemeshError, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ error: { code: err.code, message: err.message } });
  });
  const listening = app.listen(0, '127.0.0.1');
  server = listening;
  await new Promise((resolve) => listening.once('listening', resolve));
  const base = `http://127.0.0.1:${(listening.address() as { port: number }).port}`;
  return { store, fakes, base };
}

/** What the pre-receive hook sends: the pushed commit as a tar body. */
async function hookPush(base: string, query: Record<string, string>, secret = SECRET) {
  const body = Buffer.concat(await tarOf({ Dockerfile: 'FROM scratch\n' }).toArray());
  const params = new URLSearchParams({ app: 'shop', ref: 'refs/heads/main', commit: COMMIT, old: OLD, ...query });
  const res = await fetch(`${base}/internal/push?${params}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('the push route (what the pre-receive hook calls)', () => {
  it('refuses a caller without the hook secret and pushes that are not well formed', async () => {
    const { store, base } = await startRoutes({ at: null, afterPush: COMMIT });
    store.apps.create('shop');
    const pid = String(EXITED_PID);
    expect((await hookPush(base, { receivePackPid: pid }, 'wrong')).status).toBe(401);
    expect(await hookPush(base, { receivePackPid: pid, commit: 'HEAD' })).toMatchObject({
      status: 400,
      text: expect.stringContaining('INVALID_COMMIT'),
    });
    expect(await hookPush(base, { receivePackPid: '1' })).toMatchObject({
      status: 400,
      text: expect.stringContaining('INVALID_PUSH'),
    });
    expect(await hookPush(base, { receivePackPid: pid, app: 'nope' })).toMatchObject({
      status: 404,
      text: expect.stringContaining('APP_NOT_FOUND'),
    });
    expect(store.builds.list(store.apps.environment('shop', 'production')!.id)).toEqual([]);
  });

  it('accepts a branch no environment deploys without deploying it (previews off)', async () => {
    const { store, base, fakes } = await startRoutes({ at: null, afterPush: COMMIT });
    store.apps.create('shop');
    const answer = await hookPush(base, { receivePackPid: String(EXITED_PID), ref: 'refs/heads/feature' });
    expect(answer.text).toContain('Branch feature is not mapped to an environment of shop; pushed but not deployed');
    expect(answer.text.endsWith(`${RESULT_MARKER}ok\n`)).toBe(true);
    expect(fakes.built).toEqual([]);
  });

  it('deploys a push of main, streaming the build log back, and reports ok once the branch landed', async () => {
    const { store, base } = await startRoutes({ at: null, afterPush: COMMIT });
    store.apps.create('shop');
    const answer = await hookPush(base, { receivePackPid: String(EXITED_PID) });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain(`Receiving shop (production), commit ${COMMIT.slice(0, 7)}`);
    expect(answer.text).toContain('v1 of shop is live');
    expect(answer.text.endsWith(`${RESULT_MARKER}ok\n`)).toBe(true);
    expect(store.releases.current(store.apps.environment('shop', 'production')!.id)?.version).toBe(1);
  });

  it('refuses, before building, a push whose branch another push moved meanwhile', async () => {
    const { store, base, fakes } = await startRoutes({ at: 'd'.repeat(40), afterPush: COMMIT });
    store.apps.create('shop');
    const answer = await hookPush(base, { receivePackPid: String(EXITED_PID) });
    expect(answer.text).toContain('another push moved main while this one waited; fetch, merge or rebase');
    expect(answer.text.endsWith(`${RESULT_MARKER}failed\n`)).toBe(true);
    expect(fakes.built).toEqual([]);
  });

  it('undoes a first release whose branch git did not move: nothing serves it', async () => {
    const { store, base, fakes } = await startRoutes({ at: null, afterPush: null });
    store.apps.create('shop');
    const answer = await hookPush(base, { receivePackPid: String(EXITED_PID) });
    expect(answer.text.endsWith(`${RESULT_MARKER}ok\n`)).toBe(true); // reported before git gave up
    const env = store.apps.environment('shop', 'production')!;
    await expect.poll(() => store.placements.of(env.id)).toEqual([]);
    expect(store.releases.current(env.id)).toBeUndefined();
    for (const rack of fakes.racks) expect(rack.events).toEqual(['start v1', `remove [${rack.name}-v1]`]);
  });

  it('answers a deleted branch that no preview uses: nothing to deploy, production keeps serving', async () => {
    const { store, base } = await startRoutes({ at: null, afterPush: COMMIT });
    store.apps.create('shop');
    const params = new URLSearchParams({ app: 'shop', ref: 'refs/heads/main' });
    const res = await fetch(`${base}/internal/branch-deleted?${params}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(await res.text()).toBe(
      `-----> main deleted; nothing to deploy; production keeps serving\n${RESULT_MARKER}ok\n`,
    );
  });
});
