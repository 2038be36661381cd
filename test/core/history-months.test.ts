import { describe, expect, it } from 'vitest';
import {
  dedupeHistory,
  monthKey,
  monthOfFileName,
  monthsBetween,
  recordMonth,
  startOfNextMonth,
} from '../../src/core/history-months.js';
import type { HistoryRecord } from '../../src/core/ledger-state.js';

function record(id: string, endedAt: string, extra: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    id,
    user: 'alice',
    uid: 1000,
    project: { path: '/home/alice/proj', name: 'proj' },
    kind: 'run',
    command: 'true',
    request: { gpus: 0, cpus: 1, memoryMb: 512 },
    submittedAt: '2026-01-01T00:00:00Z',
    endedAt,
    ending: 'exited',
    ...extra,
  };
}

describe('history months', () => {
  it('names the UTC month of a time', () => {
    expect(monthKey(new Date('2026-12-31T23:59:59.999Z'))).toBe('2026-12');
    expect(monthKey(new Date('2027-01-01T00:00:00+01:00'))).toBe('2026-12');
    expect(recordMonth({ endedAt: '2026-03-01T00:30:00+02:00' })).toBe('2026-02');
    expect(recordMonth({ endedAt: 'x' })).toBeUndefined();
  });

  it('lists the months a window overlaps, across a year end', () => {
    expect(
      monthsBetween(new Date('2026-11-15T00:00:00Z'), new Date('2027-02-01T00:00:00Z')),
    ).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(monthsBetween(new Date('2026-05-01Z'), new Date('2026-05-31T23:00:00Z'))).toEqual([
      '2026-05',
    ]);
    expect(monthsBetween(new Date('2026-05-01Z'), new Date('2026-04-30Z'))).toEqual([]);
    expect(startOfNextMonth(new Date('2026-12-31T23:00:00Z')).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });

  it('knows its own file names and no others', () => {
    expect(monthOfFileName('2026-12.jsonl')).toBe('2026-12');
    expect(monthOfFileName('2026-13.jsonl')).toBeUndefined();
    expect(monthOfFileName('2026-12.jsonl.tmp')).toBeUndefined();
    expect(monthOfFileName('history.jsonl')).toBeUndefined();
  });

  it('keeps one record of a job recorded twice: the earliest end', () => {
    // Given a job recorded as exited, then again as reaped after a crash, and an array's tasks
    // (same id and submission) and a reused id (another submission),
    const exited = record('1001', '2026-01-31T23:00:00Z', { exitCode: 0 });
    const reaped = record('1001', '2026-02-01T01:00:00Z', { ending: 'reaped' });
    const task0 = record('2002', '2026-01-05T00:00:00Z', { array: { task: 0 } });
    const task1 = record('2002', '2026-01-05T00:00:00Z', { array: { task: 1 } });
    const reused = record('1001', '2026-03-01T00:00:00Z', { submittedAt: '2026-02-28T00:00:00Z' });

    // When deduped in any order, the exited record stays, and every other job too.
    expect(dedupeHistory([reaped, task0, exited, task1, reused])).toEqual([
      task0,
      exited,
      task1,
      reused,
    ]);
  });
});
