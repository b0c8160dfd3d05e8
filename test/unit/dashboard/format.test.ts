import { describe, expect, it } from 'vitest';
import { durationBetween, formatSeconds, shortCommit, timeAgo } from '../../../dashboard/src/format.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const before = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

describe('dashboard formats', () => {
  it('says how long ago in words', () => {
    expect(timeAgo(before(10), NOW)).toBe('just now');
    expect(timeAgo(before(5 * 60), NOW)).toBe('5 minutes ago');
    expect(timeAgo(before(2 * 3600), NOW)).toBe('2 hours ago');
    expect(timeAgo(before(86_400), NOW)).toBe('yesterday');
    expect(timeAgo(before(3 * 86_400), NOW)).toBe('3 days ago');
  });

  it('writes durations in seconds, minutes, hours', () => {
    expect(formatSeconds(42)).toBe('42 s');
    expect(formatSeconds(185)).toBe('3 min 5 s');
    expect(formatSeconds(3720)).toBe('1 h 2 min');
    expect(formatSeconds(-3)).toBe('0 s');
  });

  it('measures a finished step to its end and a running one to now', () => {
    expect(durationBetween(before(90), before(30), NOW)).toBe('1 min 0 s');
    expect(durationBetween(before(90), null, NOW)).toBe('1 min 30 s');
  });

  it('shortens a commit to 7 characters', () => {
    expect(shortCommit('0123456789abcdef')).toBe('0123456');
    expect(shortCommit(null)).toBe('—');
  });
});
