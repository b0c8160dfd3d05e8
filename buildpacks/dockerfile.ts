import type { Buildpack } from './types.ts';

/**
 * Images named in FROM lines that must exist before the build: not earlier stages, not
 * `scratch`; `${ARG}` references resolved from ARG defaults declared before the first FROM.
 */
export function baseImagesOf(dockerfile: string): string[] {
  const args: Record<string, string> = {};
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  const lines = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=("?)([^"\s]*)\2)?/i.exec(line);
    if (arg && !seenFrom && arg[3] !== undefined) args[arg[1]!] = arg[3];
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    seenFrom = true;
    const image = from[1]!.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => args[name] ?? '\u0000');
    if (
      !image.includes('\u0000') &&
      image.toLowerCase() !== 'scratch' &&
      !stages.has(image.toLowerCase()) &&
      !images.includes(image)
    ) {
      images.push(image);
    }
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return images;
}

export const dockerfileBuildpack: Buildpack = {
  name: 'dockerfile',
  title: 'Dockerfile',
  describe: 'Dockerfile: a Dockerfile at the root, used as it is',
  detect(src, _ctx, processes) {
    if (!src.has('Dockerfile')) return null;
    const baseImages = baseImagesOf(src.readText('Dockerfile') ?? '');
    return {
      buildpack: 'dockerfile',
      summary: [
        `using the Dockerfile as it is (base: ${baseImages.join(', ') || 'none'})`,
        processes.web ? `web: ${processes.web} (Procfile)` : "web: the image's CMD",
      ],
      baseImages,
      processes,
    };
  },
};
