import { describe, expect, it } from 'vitest';
import { parseGitUrl } from '../../../server/git/index.ts';
import { assertAppName } from '../../../server/names.ts';

describe('names and git URLs', () => {
  it('accepts DNS-safe app names only', () => {
    expect(assertAppName('my-app2')).toBe('my-app2');
    for (const bad of ['My', '1app', 'a', 'a--b', 'a-', '../x', 'a/b', 'a'.repeat(31), 42])
      expect(() => assertAppName(bad)).toThrow(/app name/);
  });
  it('parses smart HTTP git URLs and tells pushes from fetches', () => {
    expect(parseGitUrl('/shop.git/info/refs?service=git-receive-pack')).toEqual({
      app: 'shop',
      service: 'info',
      wantsPush: true,
    });
    expect(parseGitUrl('/shop.git/info/refs?service=git-upload-pack')).toEqual({
      app: 'shop',
      service: 'info',
      wantsPush: false,
    });
    expect(parseGitUrl('/shop.git/git-receive-pack')).toMatchObject({ service: 'receive-pack', wantsPush: true });
    expect(parseGitUrl('/api/apps')).toBeUndefined();
    expect(parseGitUrl('/../x.git/info/refs')).toBeUndefined();
    expect(parseGitUrl('/Shop.git/info/refs')).toBeUndefined();
  });
});
