/**
 * The history is kept one file per month (`queue/history/2026-12.jsonl`), by the month a job
 * ended in, in UTC so that every user's rp agrees whatever their TZ. Pure: the month of a time,
 * the months a window overlaps, the file name of a month, and the one record kept of a job that
 * was recorded twice.
 */
import type { HistoryRecord } from './ledger-state.js';

/** "2026-12": a month of the history, in UTC. */
export type MonthKey = string;

const MONTH_FILE = /^(\d{4}-(?:0[1-9]|1[0-2]))\.jsonl$/;

/** The UTC month `at` falls in. */
export function monthKey(at: Date): MonthKey {
  return at.toISOString().slice(0, 7);
}

/** The month a record belongs to (its end), or undefined when its end time is unreadable. */
export function recordMonth(record: Pick<HistoryRecord, 'endedAt'>): MonthKey | undefined {
  const ended = Date.parse(record.endedAt);
  return Number.isNaN(ended) ? undefined : monthKey(new Date(ended));
}

/** The file name of `month` in the history folder. */
export function monthFileName(month: MonthKey): string {
  return `${month}.jsonl`;
}

/** The month a file of the history folder holds, or undefined for any other name. */
export function monthOfFileName(name: string): MonthKey | undefined {
  return MONTH_FILE.exec(name)?.[1];
}

/** Every month from `from`'s to `to`'s, oldest first; none when `to` is before `from`. */
export function monthsBetween(from: Date, to: Date): MonthKey[] {
  const months: MonthKey[] = [];
  let year = from.getUTCFullYear();
  let month = from.getUTCMonth();
  const lastYear = to.getUTCFullYear();
  const lastMonth = to.getUTCMonth();
  while (year < lastYear || (year === lastYear && month <= lastMonth)) {
    months.push(`${String(year).padStart(4, '0')}-${String(month + 1).padStart(2, '0')}`);
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
  return months;
}

/** The first instant of the month after `at`'s (UTC). */
export function startOfNextMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}

/**
 * What names one job in the history: job ids are reused, but never with the same submission
 * time, and the tasks of an array share both.
 */
export function historyKey(
  record: Pick<HistoryRecord, 'id' | 'submittedAt'> & { array?: { task: number } },
): string {
  return `${record.id}|${record.submittedAt}|${record.array?.task ?? ''}`;
}

/**
 * One record per job. A crash between the history append and the ledger write leaves a job
 * recorded twice (see src/ledger/history.ts), the second time usually as 'reaped' and later:
 * the earliest end is the one that happened, so it is kept. Order is otherwise preserved.
 */
export function dedupeHistory<T extends HistoryRecord>(records: readonly T[]): T[] {
  const kept = new Map<string, T>();
  for (const record of records) {
    const key = historyKey(record);
    const earlier = kept.get(key);
    if (earlier === undefined || endOf(record) < endOf(earlier)) kept.set(key, record);
  }
  const chosen = new Set(kept.values());
  return records.filter((record) => chosen.has(record));
}

function endOf(record: Pick<HistoryRecord, 'endedAt'>): number {
  const ended = Date.parse(record.endedAt);
  return Number.isNaN(ended) ? Number.POSITIVE_INFINITY : ended;
}
