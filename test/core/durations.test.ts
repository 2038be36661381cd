import { describe, expect, it } from 'vitest';
import {
  formatSeconds,
  formatTimeLimit,
  parseSeconds,
  parseTimeLimit,
} from '../../src/core/durations.js';

describe('parseSeconds', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86_400],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['2 hours', 7200],
    ['1500ms', 2],
    // Slurm's forms: a bare number is minutes.
    ['90', 5400],
    ['5:30', 330],
    ['01:02:03', 3723],
    ['2-12', 2 * 86_400 + 12 * 3600],
    ['1-02:30', 86_400 + 2 * 3600 + 30 * 60],
    ['1-00:00:05', 86_400 + 5],
    ['0', 0],
  ])('%s is %d s', (text, seconds) => {
    expect(parseSeconds(text)).toBe(seconds);
  });

  it.each(['', 'soon', '2x', '-5m', '1:2:3:4', '1-', 'h', '2h and then some'])(
    'rejects %j',
    (text) => {
      expect(parseSeconds(text)).toBeUndefined();
    },
  );
});

describe('parseTimeLimit', () => {
  it.each(['0', 'unlimited', 'UNLIMITED', 'infinite', '0s'])('%s lifts the limit', (text) => {
    expect(parseTimeLimit(text)).toBe('unlimited');
  });

  it('reads a length as seconds', () => {
    expect(parseTimeLimit('2h')).toBe(7200);
  });

  it('rejects what is no length of time', () => {
    expect(parseTimeLimit('tomorrow')).toBeUndefined();
  });
});

describe('formatSeconds', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [150, '2m 30s'],
    [7200, '2h'],
    [3900, '1h 5m'],
    [59.9, '59s'],
    [3 * 86_400 + 4 * 3600 + 59, '3d 4h'],
    [-5, '0s'],
  ])('%d s reads %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });

  it('names no limit', () => {
    expect(formatTimeLimit('unlimited')).toBe('unlimited');
    expect(formatTimeLimit(undefined)).toBe('unlimited');
    expect(formatTimeLimit(60)).toBe('1m');
  });
});
