import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.ts';

export interface AcmeCa {
  directoryUrl: string;
  /** the CA's root: it signs the directory's HTTPS certificate and every certificate it issues */
  rootFile: string;
  stop(): Promise<void>;
}

export const caddyInstalled = () => fs.existsSync('/usr/bin/caddy');

/**
 * A local ACME CA: Debian's caddy with its `acme_server` handler, offline. The CA validates
 * HTTP-01 at http://NAME:80/, so it runs in its own mount namespace where /etc/hosts maps the
 * test's names to 127.0.0.1 (nothing on the host changes).
 */
export async function startAcmeCa(names: string[]): Promise<AcmeCa> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widemesh-acme-ca-'));
  const port = await freePort();
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, ['127.0.0.1 localhost', ...names.map((n) => `127.0.0.1 ${n}`), ''].join('\n'));
  const caddyfile = path.join(dir, 'Caddyfile');
  fs.writeFileSync(
    caddyfile,
    `{
  admin off
  skip_install_trust
  auto_https disable_redirects
  http_port ${await freePort()}
  storage file_system ${dir}/data
}
https://localhost:${port} {
  tls internal
  acme_server
}
`,
  );
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const script = 'mount --bind "$0" /etc/hosts && exec caddy run --config "$1" --adapter caddyfile';
  const child: ChildProcess = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, hosts, caddyfile],
    {
      env,
      stdio: ['ignore', fs.openSync(path.join(dir, 'caddy.log'), 'a'), fs.openSync(path.join(dir, 'caddy.log'), 'a')],
    },
  );
  const rootFile = path.join(dir, 'data/pki/authorities/local/root.crt');
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(rootFile)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`caddy did not start:\n${fs.readFileSync(path.join(dir, 'caddy.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const directoryUrl = `https://localhost:${port}/acme/local/directory`;
  const ca = fs.readFileSync(rootFile);
  const answers = () =>
    new Promise<boolean>((resolve) =>
      https
        .get(directoryUrl, { ca, agent: false }, (res) => resolve(res.statusCode === 200))
        .on('error', () => resolve(false)),
    );
  while (!(await answers())) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the ACME CA does not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directoryUrl,
    rootFile,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
