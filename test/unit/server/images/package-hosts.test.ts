import { describe, expect, it } from 'vitest';
import { aptSourceHosts } from '../../../../server/images/package-hosts.ts';

describe('the apt mirrors builds may reach', () => {
  it('reads one-line and deb822 sources, options and comments included', () => {
    const oneLine = [
      '# deb http://old.example/debian bookworm main',
      'deb [signed-by=/k.gpg] http://deb.debian.org/debian bookworm main',
      'deb-src https://mirror.example:8443/debian bookworm main',
    ].join('\n');
    const deb822 = [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://deb.debian.org/debian-security http://security.example/debian',
      'Suites: bookworm-security',
    ].join('\n');
    expect(aptSourceHosts([oneLine, deb822])).toEqual([
      { host: 'deb.debian.org', port: undefined },
      { host: 'mirror.example', port: 8443 },
      { host: 'deb.debian.org', port: undefined },
      { host: 'security.example', port: undefined },
    ]);
  });
});
