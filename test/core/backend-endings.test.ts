import { describe, expect, it } from 'vitest';
import { ENDED_RECORD_KEPT_MS, recordExpired } from '../../src/core/backend-endings.js';

const NOW = new Date('2026-12-10T12:00:00.000Z');
const ago = (ms: number) => ({ at: new Date(NOW.getTime() - ms).toISOString() });

describe("when a cluster's job record may go", () => {
  it('Given a job that ended more than a week ago, Then its record expires; a day less, it stays', () => {
    expect(recordExpired({ ended: { '': ago(ENDED_RECORD_KEPT_MS + 1) } }, NOW)).toBe(true);
    expect(recordExpired({ ended: { '': ago(ENDED_RECORD_KEPT_MS - 86_400_000) } }, NOW)).toBe(
      false,
    );
  });

  it('Given a live job, an array with a live task, or an ending without a time, Then the record stays', () => {
    expect(recordExpired({ ended: {} }, NOW)).toBe(false);
    const old = ago(30 * 86_400_000);
    expect(recordExpired({ array: { indices: [0, 1] }, ended: { '0': old } }, NOW)).toBe(false);
    expect(recordExpired({ array: { indices: [0, 1] }, ended: { '0': old, '1': old } }, NOW)).toBe(
      true,
    );
    expect(recordExpired({ ended: { '': { at: 'yesterday' } } }, NOW)).toBe(false);
  });
});
