/**
 * `rp history`'s choice of records, pure: whose, since when, the newest first, how many. Records
 * are read a month at a time, newest month first; `enough` says when older months cannot change
 * the answer.
 */
import { dedupeHistory } from './history-months.js';
import type { HistoryRecord } from './ledger-state.js';

export const DEFAULT_HISTORY_LIMIT = 20;

export interface HistoryFilter {
  /** Only this user's jobs; everyone's when undefined. */
  user?: string;
  /** Only jobs that ended at or after this time. */
  since?: Date;
  /** At most this many, the newest. */
  limit: number;
}

/** The records `filter` selects, newest end first, once each (see dedupeHistory). */
export function selectHistory(
  records: readonly HistoryRecord[],
  filter: HistoryFilter,
): HistoryRecord[] {
  const since = filter.since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const ended = (record: HistoryRecord): number => Date.parse(record.endedAt);
  return dedupeHistory(records)
    .filter((record) => filter.user === undefined || record.user === filter.user)
    .filter((record) => ended(record) >= since)
    .map((record, order) => ({ record, order }))
    .sort((a, b) => ended(b.record) - ended(a.record) || b.order - a.order)
    .slice(0, filter.limit)
    .map(({ record }) => record);
}

/**
 * Whether the records read so far (whole months, newest first) already hold the answer: every
 * record of an older month ended earlier than all of theirs.
 */
export function enoughHistory(records: readonly HistoryRecord[], filter: HistoryFilter): boolean {
  return selectHistory(records, filter).length >= filter.limit;
}
