import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AllowedHost } from './build-proxy.ts';

/** A registry URL's host, with its port when the URL names one. */
function hostOf(url: string): AllowedHost | undefined {
  try {
    const parsed = new URL(url);
    if (!/^https?:$/.test(parsed.protocol)) return undefined;
    return { host: parsed.hostname.toLowerCase(), port: parsed.port ? Number(parsed.port) : undefined };
  } catch {
    return undefined;
  }
}

/** The mirrors apt sources name: one-line `deb [opts] URL suite…` entries and deb822 `URIs:` fields. */
export function aptSourceHosts(texts: string[]): AllowedHost[] {
  const urls: string[] = [];
  for (const line of texts.join('\n').split('\n')) {
    const oneLine = /^\s*deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    const deb822 = /^\s*URIs:\s*(.+)$/i.exec(line);
    if (oneLine) urls.push(oneLine[1]!);
    if (deb822) urls.push(...deb822[1]!.trim().split(/\s+/));
  }
  return urls.map(hostOf).filter((h): h is AllowedHost => h !== undefined);
}

function readAptSources(dir = '/etc/apt'): string[] {
  const listDir = path.join(dir, 'sources.list.d');
  const files = [path.join(dir, 'sources.list')];
  if (fs.existsSync(listDir))
    for (const name of fs.readdirSync(listDir))
      if (/\.(list|sources)$/.test(name)) files.push(path.join(listDir, name));
  return files.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
}

/** yarn's own name for the public npm registry: yarn 1 and 2+ fetch from it unless told otherwise. */
const YARN_REGISTRY: AllowedHost = { host: 'registry.yarnpkg.com' };

/**
 * What builds may reach when WIDEMESH_BUILD_ALLOWED_HOSTS is not set: npm's configured registry
 * (what the Node stacks install from), yarn's name for the public registry, and this machine's
 * apt mirrors (what the stacks' apt uses).
 */
export async function defaultPackageHosts(): Promise<AllowedHost[]> {
  const hosts = aptSourceHosts(readAptSources());
  const npm = await promisify(execFile)('npm', ['config', 'get', 'registry']).catch(() => undefined);
  const registry = hostOf(npm?.stdout.trim() ?? '') ?? { host: 'registry.npmjs.org' };
  return [registry, YARN_REGISTRY, ...hosts].filter(
    (h, i, all) => all.findIndex((o) => o.host === h.host && o.port === h.port) === i,
  );
}
