import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { appRepo, push } from '../helpers/git.ts';
import { freePort } from '../helpers/net.ts';
import { docker, request } from '../helpers/server.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const IMAGE = 'widemesh/server:test';

describe('the Widemesh server image (top-level Dockerfile)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-image-'));
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-image-sockets-'));
  let container: string | undefined;

  afterAll(async () => {
    if (container)
      await docker
        .getContainer(container)
        .remove({ force: true })
        .catch(() => {});
    const dbFile = path.join(dataDir, 'widemesh.db');
    if (fs.existsSync(dbFile)) {
      const db = new Database(dbFile, { readonly: true });
      const row = db.prepare("SELECT value FROM meta WHERE key = 'installation'").get() as
        | { value: string }
        | undefined;
      db.close();
      if (row) {
        for (const c of await docker.listContainers({
          all: true,
          filters: { label: [`widemesh.installation=${row.value}`] },
        })) {
          await docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {});
        }
        for (const i of await docker.listImages({ filters: { reference: [`wm-${row.value}/*`] } })) {
          await docker
            .getImage(i.Id)
            .remove({ force: true })
            .catch(() => {});
        }
      }
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(socketDir, { recursive: true, force: true });
  });

  it('runs the server against the host Docker, and deploys a push', { timeout: 600_000 }, async () => {
    // scripts/test builds the image in its set-up; run alone, this file builds it (minutes when cold)
    if (
      !(await docker
        .getImage(IMAGE)
        .inspect()
        .then(
          () => true,
          () => false,
        ))
    ) {
      await run('docker', ['build', '-q', '--network', 'host', '-t', IMAGE, '.'], {
        cwd: ROOT,
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        maxBuffer: 64 * 1024 * 1024,
      });
    }
    const image = await docker.getImage(IMAGE).inspect();
    expect(image.Config.Env).toContain('WIDEMESH_DATA=/var/lib/widemesh');

    const apiPort = await freePort();
    const routerPort = await freePort();
    const created = await docker.createContainer({
      Image: IMAGE,
      Env: [`WIDEMESH_PORT=${apiPort}`, `WIDEMESH_ROUTER_PORT=${routerPort}`, `WIDEMESH_SOCKET_DIR=${socketDir}`],
      HostConfig: {
        NetworkMode: 'host',
        // the relays' sockets: a host path Docker mounts into each relay, at the same path in here
        Binds: [
          '/var/run/docker.sock:/var/run/docker.sock',
          `${dataDir}:/var/lib/widemesh`,
          `${socketDir}:${socketDir}`,
        ],
      },
    });
    container = created.id;
    await created.start();
    let logs = '';
    for (let i = 0; i < 150 && !logs.includes('Widemesh is running'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      logs = ((await created.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString('utf8');
    }
    expect(logs).toContain('Widemesh is running');
    const token = /admin token: (wm_\S+)/.exec(logs)?.[1];
    expect(token).toBeDefined();
    expect(fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token);
    // no compiler toolchain in the final image
    const exec = await created.exec({ Cmd: ['sh', '-c', 'command -v g++ || echo no-compiler'], AttachStdout: true });
    const out = await new Promise<string>((resolve) =>
      exec.start({}, (_e, stream) => {
        let text = '';
        stream!.on('data', (c: Buffer) => (text += c.toString()));
        stream!.on('end', () => resolve(text));
      }),
    );
    expect(out).toContain('no-compiler');

    const apps = await request(`http://127.0.0.1:${apiPort}/api/apps`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(apps.status).toBe(200);
    // the dashboard's bundle is built inside the image, by its own stage
    const dashboard = await request(`http://127.0.0.1:${apiPort}/`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"/);
    const site = appRepo('static-site');
    const result = await push(site, `http://x:${token}@127.0.0.1:${apiPort}/site.git`);
    expect(result.output).toContain('is live at');
    expect(result.code).toBe(0);
    const page = await request(`http://127.0.0.1:${routerPort}/`, { headers: { host: 'site.localhost' } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('A static site on Widemesh');
  });
});
