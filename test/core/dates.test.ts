import { describe, expect, it } from 'vitest';
import { parseDateTime, parseSince } from '../../src/core/dates.js';

// Local times are compared with Dates built from local parts, so the tests hold in any TZ.
const NOW = new Date('2026-03-05T10:00:00Z');
const at = (text: string) => parseDateTime(text, NOW)?.toISOString();

describe('parseDateTime', () => {
  it('reads now and times relative to it', () => {
    expect(at('now')).toBe(NOW.toISOString());
    expect(at(' NOW ')).toBe(NOW.toISOString());
    expect(at('+30m')).toBe('2026-03-05T10:30:00.000Z');
    expect(at('+2h')).toBe('2026-03-05T12:00:00.000Z');
    expect(at('+60s')).toBe('2026-03-05T10:01:00.000Z');
    expect(at('+1d')).toBe('2026-03-06T10:00:00.000Z');
  });

  it('reads a date as local midnight', () => {
    expect(at('2026-03-01')).toBe(new Date(2026, 2, 1).toISOString());
  });

  it('reads a date and time without an offset as local time', () => {
    expect(at('2026-03-05 14:30')).toBe(new Date(2026, 2, 5, 14, 30).toISOString());
    expect(at('2026-03-05T14:30')).toBe(new Date(2026, 2, 5, 14, 30).toISOString());
    expect(at('2026-03-05T14:30:15')).toBe(new Date(2026, 2, 5, 14, 30, 15).toISOString());
  });

  it('reads ISO 8601 with Z or an offset as that instant', () => {
    expect(at('2026-03-05T14:30:00Z')).toBe('2026-03-05T14:30:00.000Z');
    expect(at('2026-03-05T14:30:00.250z')).toBe('2026-03-05T14:30:00.250Z');
    expect(at('2026-03-05T14:30+01:00')).toBe('2026-03-05T13:30:00.000Z');
    expect(at('2026-03-05T14:30:00-0530')).toBe('2026-03-05T20:00:00.000Z');
    expect(at('2026-03-05 00:10:00+02:00')).toBe('2026-03-04T22:10:00.000Z');
  });

  it.each([
    '',
    'yesterday',
    '7d', // a length of time, not a point: --since reads those itself
    '+',
    '+soon',
    '2026-02-30',
    '2026-13-01',
    '2026-3-5',
    '2026-03-05T24:00',
    '2026-03-05T14:60',
    '2026-03-05T14',
    '2026-03-05Z',
    '2026-03-05T14:30+01:99',
    '2026',
    '2026-W10',
  ])('returns undefined for %j', (text) => {
    expect(parseDateTime(text, NOW)).toBeUndefined();
  });
});

describe('parseSince', () => {
  it('reads a length of time as that long before now, and a date-time as itself', () => {
    expect(parseSince('7d', NOW)?.toISOString()).toBe('2026-02-26T10:00:00.000Z');
    expect(parseSince('90m', NOW)?.toISOString()).toBe('2026-03-05T08:30:00.000Z');
    expect(parseSince('2026-03-01', NOW)?.toISOString()).toBe(new Date(2026, 2, 1).toISOString());
    expect(parseSince('2026-03-01T00:00:00Z', NOW)?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  it.each(['', 'last week', '-7d', '7 fortnights'])('returns undefined for %j', (text) => {
    expect(parseSince(text, NOW)).toBeUndefined();
  });
});
