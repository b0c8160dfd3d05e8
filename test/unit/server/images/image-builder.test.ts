import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../../../server/images/image-builder.ts';

describe('a failed build step', () => {
  const limits = { memoryMb: 256, cpus: 1, pids: 100 };

  it('killed by SIGKILL under a memory limit is named as out of memory', () => {
    expect(failureMessage("The command '/bin/sh -c node big.js' returned a non-zero code: 137", limits)).toMatch(
      /returned a non-zero code: 137: the step was killed, most likely because the build used more than its 256 MiB/,
    );
  });

  it('that failed otherwise keeps Docker’s message', () => {
    const failure = "The command '/bin/sh -c npm ci' returned a non-zero code: 1";
    expect(failureMessage(failure, limits)).toBe(failure);
    expect(failureMessage('returned a non-zero code: 137', undefined)).toBe('returned a non-zero code: 137');
  });
});
