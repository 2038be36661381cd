import { describe, expect, it } from 'vitest';
import { enoughHistory, selectHistory } from '../../src/core/history-listing.js';
import type { HistoryRecord } from '../../src/core/ledger-state.js';

function record(id: string, user: string, endedAt: string, extra: Partial<HistoryRecord> = {}) {
  const made: HistoryRecord = {
    id,
    user,
    uid: 1000,
    project: { path: '/p', name: 'p' },
    kind: 'run',
    command: 'true',
    request: { gpus: 0, cpus: 1, memoryMb: 512 },
    submittedAt: '2026-03-01T00:00:00Z',
    endedAt,
    ending: 'exited',
    exitCode: 0,
    ...extra,
  };
  return made;
}

const a1 = record('1001', 'alice', '2026-03-01T10:00:00Z');
const b1 = record('1002', 'bob', '2026-03-02T10:00:00Z');
const a2 = record('1003', 'alice', '2026-03-03T10:00:00Z');
const a3 = record('1004', 'alice', '2026-03-03T10:00:00Z'); // ended at the same time, appended later

describe('selectHistory', () => {
  it('lists the newest first; of two that ended together, the one appended last first', () => {
    expect(selectHistory([a1, b1, a2, a3], { limit: 20 })).toEqual([a3, a2, b1, a1]);
  });

  it("keeps one user's jobs, since a time, up to the limit", () => {
    expect(selectHistory([a1, b1, a2, a3], { user: 'alice', limit: 2 })).toEqual([a3, a2]);
    expect(
      selectHistory([a1, b1, a2, a3], { since: new Date('2026-03-02T10:00:00Z'), limit: 20 }),
    ).toEqual([a3, a2, b1]);
    expect(selectHistory([a1, b1], { user: 'carol', limit: 20 })).toEqual([]);
  });

  it('lists a job recorded twice once, as it first ended', () => {
    const reaped = { ...a1, endedAt: '2026-03-04T00:00:00Z', ending: 'reaped' as const };
    expect(selectHistory([a1, reaped], { limit: 20 })).toEqual([a1]);
  });

  it('says when enough was read', () => {
    expect(enoughHistory([a1, b1], { user: 'alice', limit: 2 })).toBe(false);
    expect(enoughHistory([a1, b1, a2], { user: 'alice', limit: 2 })).toBe(true);
  });
});
