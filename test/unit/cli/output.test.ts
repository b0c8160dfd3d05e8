import { describe, expect, it } from 'vitest';
import { appInfoText } from '../../../cli/commands/apps.ts';
import { parseAssignments } from '../../../cli/commands/config.ts';
import { logRequest } from '../../../cli/commands/logs.ts';
import { parseRack } from '../../../cli/commands/providers.ts';
import { parseVersion } from '../../../cli/commands/releases.ts';
import { parseBranches } from '../../../cli/commands/repo.ts';
import { UsageError } from '../../../cli/errors.ts';
import { show, table } from '../../../cli/output.ts';
import { fakeCli } from './fake-context.ts';

describe('output', () => {
  it('lays out tables under upper-case titles, padded, without trailing blanks', () => {
    const rows = [
      { name: 'shop', release: 12, note: null },
      { name: 'a', release: 3, note: 'x' },
    ];
    const text = table(rows, { name: (r) => r.name, release: (r) => `v${r.release}`, note: (r) => r.note });
    expect(text).toBe(['NAME  RELEASE  NOTE', 'shop  v12', 'a     v3       x'].join('\n'));
  });

  it('--json prints the answer as it is, otherwise the human form', () => {
    const cli = fakeCli();
    show(cli.ctx.io, true, { a: [1] }, () => 'human');
    show(cli.ctx.io, undefined, { a: [1] }, () => 'human');
    expect(cli.stdout()).toBe('{\n  "a": [\n    1\n  ]\n}\nhuman\n');
  });

  it('shows an app with its environments and racks', () => {
    const text = appInfoText({
      name: 'shop',
      environments: [
        {
          name: 'production',
          branch: null,
          url: 'http://shop.localhost',
          release: 2,
          racks: [
            { rack: 'local-a', release: 2, instances: 1 },
            { rack: 'local-b', release: 1, instances: 1 },
          ],
        },
        { name: 'staging', branch: 'dev', url: 'http://shop-staging.localhost', release: null, racks: [] },
      ],
    });
    expect(text).toBe(
      [
        '=== shop',
        'NAME        RELEASE  URL                            RACKS',
        'production  v2       http://shop.localhost          local-a(v2) local-b(v1)',
        'staging     -        http://shop-staging.localhost',
      ].join('\n'),
    );
  });
});

describe('argument parsing', () => {
  it('reads KEY=VALUE, BRANCH=ENV, rack names and versions, refusing malformed ones', () => {
    expect(parseAssignments(['A=1', 'B=', 'C=x=y'])).toEqual({ A: '1', B: '', C: 'x=y' });
    expect(() => parseAssignments(['=1'])).toThrow(UsageError);
    expect(parseBranches(['main=production'])).toEqual({ main: 'production' });
    expect(() => parseBranches(['main'])).toThrow(UsageError);
    expect(() => parseBranches(['a=b=c'])).toThrow(UsageError);
    expect(parseRack('local-b')).toEqual({ kind: 'local', name: 'local-b' });
    expect(() => parseRack('gcp:lambda:x')).toThrow(UsageError);
    expect(() => parseRack('gcp:cloud-run:x:y')).toThrow(UsageError);
    expect(parseVersion('v12')).toBe(12);
    expect(parseVersion('3')).toBe(3);
    for (const bad of ['v0', 'v1.5', 'latest']) expect(() => parseVersion(bad)).toThrow(UsageError);
  });

  it("asks for the latest build's log by default, the app's output when tailing", () => {
    expect(logRequest('shop', {})).toEqual({ app: 'shop', source: 'build', tail: false });
    expect(logRequest('shop', { tail: true, environment: 'staging' })).toEqual({
      app: 'shop',
      environment: 'staging',
      source: 'app',
      tail: true,
    });
    expect(logRequest('shop', { tail: true, source: 'build', build: '12' })).toMatchObject({
      source: 'build',
      build: 12,
    });
    expect(() => logRequest('shop', { build: '0' })).toThrow(UsageError);
  });
});
