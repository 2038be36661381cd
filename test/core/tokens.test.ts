import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  hashToken,
  isExpired,
  matchToken,
  newToken,
  tokenExpiry,
  tokenView,
} from '../../src/core/tokens.js';
import { UsageError } from '../../src/core/errors.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const SECRET = Buffer.alloc(32, 7);
const ID = Buffer.from([1, 2, 3, 4]);

describe('newToken', () => {
  it('Given 32 random bytes, When a token is made, Then only its SHA-256 is in the record', () => {
    const { token, record } = newToken(SECRET, ID, { name: 'laptop', expiresAt: null, now: NOW });
    expect(token).toMatch(/^rpt_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({
      id: 'tok_01020304',
      name: 'laptop',
      hash: hashToken(token),
      createdAt: NOW.toISOString(),
      expiresAt: null,
    });
    expect(JSON.stringify(record)).not.toContain(token.slice(4));
  });

  it('refuses fewer than 32 random bytes', () => {
    expect(() => newToken(Buffer.alloc(8), ID, { name: 'x', expiresAt: null, now: NOW })).toThrow();
  });
});

describe('tokenExpiry', () => {
  it.each([
    ['90d', '2027-03-02T12:00:00.000Z'],
    ['12h', '2026-12-03T00:00:00.000Z'],
    ['1w', '2026-12-09T12:00:00.000Z'],
  ])('%s from now ends at %s', (text, iso) => {
    expect(tokenExpiry(text, NOW)?.toISOString()).toBe(iso);
  });

  it('never is null', () => {
    expect(tokenExpiry('never', NOW)).toBeNull();
  });

  it.each(['0', 'soon', '-1d'])('%s is a usage error naming --expires', (text) => {
    expect(() => tokenExpiry(text, NOW)).toThrow(UsageError);
    expect(() => tokenExpiry(text, NOW)).toThrow(/--expires/);
  });
});

describe('matchToken', () => {
  const made = newToken(SECRET, ID, {
    name: 'a',
    expiresAt: new Date('2026-12-03T00:00:00Z'),
    now: NOW,
  });

  it('Given a valid token, When it is presented, Then its record is found', () => {
    expect(matchToken([made.record], made.token, NOW)).toBe(made.record);
  });

  it('Given a token past its expiry, Then it matches nothing', () => {
    const later = new Date('2026-12-03T00:00:00Z');
    expect(isExpired(made.record, later)).toBe(true);
    expect(matchToken([made.record], made.token, later)).toBeUndefined();
    expect(tokenView(made.record, later).expired).toBe(true);
  });

  it.each(['', 'rpt_wrong', made.token.slice(4), `${made.token}x`])(
    'an unknown or malformed token %j matches nothing',
    (presented) => {
      expect(matchToken([made.record], presented, NOW)).toBeUndefined();
    },
  );
});

describe('bearerToken', () => {
  it.each([
    ['Bearer rpt_abc', 'rpt_abc'],
    ['bearer   rpt_abc ', 'rpt_abc'],
    ['Basic dXNlcg==', undefined],
    [undefined, undefined],
    ['Bearer a b', undefined],
  ])('%j gives %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
