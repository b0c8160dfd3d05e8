import { describe, expect, it } from 'vitest';
import { assertPlainQuery } from '../../../../server/api/lookup.ts';

const query = (text: string) => new URLSearchParams(text).entries();

describe('query parameters', () => {
  it('takes one plain value per key', () => {
    expect(() => assertPlainQuery(query('environment=staging&source=app&empty='))).not.toThrow();
    expect(() => assertPlainQuery(Object.entries({ environment: 'staging' }))).not.toThrow();
  });

  it('refuses lists, brackets and repeated keys with INVALID_QUERY', () => {
    const refused = [
      'environment[]=a&environment[]=b',
      'environment[]=a',
      'environment[x]=a',
      'environment=a&environment=b',
    ];
    for (const text of refused) {
      expect(() => assertPlainQuery(query(text))).toThrow(
        expect.objectContaining({ code: 'INVALID_QUERY', status: 400 }),
      );
    }
    expect(() => assertPlainQuery(Object.entries({ environment: ['a', 'b'] }))).toThrow('"environment"');
    expect(() => assertPlainQuery(Object.entries({ environment: { x: 'a' } }))).toThrow('"environment"');
  });
});
