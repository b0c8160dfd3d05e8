// pre-receive hook of every app repository (installed by the server as hooks/pre-receive).
// It runs inside `git receive-pack`, so the pushed objects are still quarantined: a failed
// deploy exits non-zero, git rejects the push and the branch keeps its old commit.
// For each pushed branch it streams `git archive <commit>` to the server and relays the
// server's deploy log; everything printed here reaches the pusher as `remote:` lines.
// A deleted branch is reported too: its preview environment, if any, is deleted with it.
// It also sends the branch's old value (the server refuses the push if another push moved the
// branch meanwhile) and the pid of its git receive-pack: the server keeps the branch locked
// until that process exits, then checks that git really moved the branch to the deployed commit.
// @ts-check
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HOOK_CONFIG_ENV, RESULT_MARKER } from './protocol.mjs';

const ZERO = /^0+$/;

/** @returns {{ url?: string, secret?: string }} */
function readHookConfig() {
  try {
    return JSON.parse(fs.readFileSync(process.env[HOOK_CONFIG_ENV] ?? '', 'utf8'));
  } catch {
    return {};
  }
}
const { url: hookUrl, secret: hookSecret } = readHookConfig();
const app = path.basename(process.cwd()).replace(/\.git$/, '');

/** @param {string} line */
function say(line) {
  process.stdout.write(`${line}\n`);
}

/** @returns {Promise<string[][]>} */
async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));
}

/**
 * Sends one request to the server and relays its answer line by line; resolves true when the
 * server's last line reports success.
 * @param {string} route
 * @param {Record<string, string>} params
 * @param {string} serverUrl
 * @param {string} secret
 * @param {import('node:stream').Readable | undefined} body
 * @returns {Promise<boolean>}
 */
function relay(route, params, serverUrl, secret, body) {
  return new Promise((resolve) => {
    const url = new URL(route, serverUrl);
    url.searchParams.set('app', app);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const req = http.request(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-tar' } },
      (res) => {
        res.setEncoding('utf8');
        let pending = '';
        /** @type {boolean | undefined} */
        let ok;
        /** @param {string} line */
        const handle = (line) => {
          if (line.startsWith(RESULT_MARKER)) ok = line.slice(RESULT_MARKER.length) === 'ok';
          else say(line);
        };
        res.on('data', (chunk) => {
          const lines = (pending + chunk).split('\n');
          pending = lines.pop() ?? '';
          lines.forEach(handle);
        });
        res.on('end', () => {
          if (pending) handle(pending);
          if (ok === undefined) say(' !     The Widemesh server ended without a result; treating it as failed.');
          resolve(ok === true);
        });
        res.on('error', () => {
          say(' !     Lost the connection to the Widemesh server.');
          resolve(false);
        });
      },
    );
    req.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      say(` !     Could not reach the Widemesh server (${err.code ?? err.message}); nothing was deployed.`);
      resolve(false);
    });
    if (body) body.pipe(req);
    else req.end();
  });
}

/**
 * Streams the commit to the server; resolves true when the server reports a successful deploy.
 * @param {string} ref
 * @param {string} old
 * @param {string} commit
 * @param {string} serverUrl
 * @param {string} secret
 */
async function deploy(ref, old, commit, serverUrl, secret) {
  const archive = spawn('git', ['archive', '--format=tar', commit], { stdio: ['ignore', 'pipe', 'inherit'] });
  const params = { ref, commit, old, receivePackPid: String(process.ppid) };
  try {
    return await relay('/internal/push', params, serverUrl, secret, archive.stdout);
  } finally {
    archive.kill();
  }
}

/**
 * Deploys every pushed branch; any failure rejects the whole push.
 * @param {string} serverUrl
 * @param {string} secret
 */
async function deployPushedBranches(serverUrl, secret) {
  let failed = false;
  for (const [oldrev = '', newrev = '', ref = ''] of await readStdin()) {
    if (!ref.startsWith('refs/heads/')) continue;
    // a deleted branch may have a preview environment to delete with it
    const ok = ZERO.test(newrev)
      ? await relay('/internal/branch-deleted', { ref }, serverUrl, secret, undefined)
      : await deploy(ref, oldrev, newrev, serverUrl, secret);
    if (!ok) failed = true;
  }
  return !failed;
}

if (!hookUrl || !hookSecret) {
  say(' !     This repository is served without a Widemesh server environment; refusing the push.');
  process.exit(1);
}
process.exit((await deployPushedBranches(hookUrl, hookSecret)) ? 0 : 1);
