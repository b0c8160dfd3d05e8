import { describe, expect, it } from 'vitest';
import { applyChanges, checkedConfigChanges } from '../../../server/config-vars.ts';

const refusal = (body: unknown) => {
  try {
    checkedConfigChanges(body);
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('accepted');
};

describe('config var changes as clients send them', () => {
  it('accepts values to set and nulls to unset', () => {
    expect(checkedConfigChanges({ GREETING: 'hi', _OLD: null })).toEqual({ GREETING: 'hi', _OLD: null });
    expect(applyChanges({ _OLD: 'x', KEEP: 'k' }, { GREETING: 'hi', _OLD: null })).toEqual({
      KEEP: 'k',
      GREETING: 'hi',
    });
  });

  it('refuses a body that is not an object of changes', () => {
    for (const body of [undefined, null, 'A=1', ['A=1'], {}])
      expect(refusal(body)).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('{"KEY"') });
  });

  it('refuses names that are not shell names, prototype keys or set by Widemesh, naming them', () => {
    expect(refusal({ '1ABC': 'x' }).message).toContain('"1ABC" is not a valid config var name');
    expect(refusal(JSON.parse('{"__proto__": "x"}')).message).toContain('"__proto__" cannot be a config var name');
    expect(refusal({ PORT: '80' }).message).toBe('PORT is set by Widemesh and cannot be changed');
  });

  it('refuses values no process environment can hold', () => {
    expect(refusal({ A: 1 }).message).toBe('the value of A must be a string (or null to unset it)');
    expect(refusal({ A: 'a\0b' }).message).toContain('NUL character');
    expect(refusal({ A: 'x'.repeat(32 * 1024 + 1) }).message).toContain('longer than 32768 characters');
    expect(checkedConfigChanges({ A: 'x'.repeat(32 * 1024) }).A).toHaveLength(32 * 1024);
  });
});
