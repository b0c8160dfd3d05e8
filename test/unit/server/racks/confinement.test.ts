import { describe, expect, it } from 'vitest';
import { assertWithinCeiling } from '../../../../server/racks/confinement.ts';

const ceiling = { memoryMb: 2048, cpus: 2 };

describe('the ceiling on what app.json asks for', () => {
  it('lets app.json ask for up to the ceiling', () => {
    expect(() =>
      assertWithinCeiling({ web: { memoryMb: 2048, cpus: 2 }, worker: { cpus: 0.5 } }, ceiling),
    ).not.toThrow();
    expect(() => assertWithinCeiling({}, ceiling)).not.toThrow();
  });

  it('refuses more memory or CPUs than the ceiling, naming the type, the limit and the setting', () => {
    expect(() => assertWithinCeiling({ worker: { memoryMb: 65536 } }, ceiling)).toThrow(
      'app.json formation.worker.memory asks for 65536 MiB; this server allows at most 2048 MiB per instance (WIDEMESH_INSTANCE_MAX_MEMORY_MB)',
    );
    expect(() => assertWithinCeiling({ web: { cpus: 64 } }, ceiling)).toThrow(
      expect.objectContaining({
        code: 'LIMIT_ABOVE_CEILING',
        message: expect.stringContaining('formation.web.cpus asks for 64 CPUs'),
      }),
    );
  });
});
