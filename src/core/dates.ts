/**
 * Points in time as people type them on a command line: `rp report --from 2026-03-01`, and the
 * booking commands' `--start "2026-03-05 14:00"` or `--start +30m`. Pure: `now` is passed in.
 *
 * A date or time without an offset is local time, as people mean it when they type one on their
 * own machine; an ISO 8601 time with `Z` or an offset is that instant. The forms are few and
 * exact, so they are read here with one pattern rather than with a date library whose ISO reader
 * also takes year-only, week and ordinal dates that nobody means on this command line.
 */
import { parseSeconds } from './durations.js';

/** What a date-time value may look like, for hints. */
export const DATE_TIME_FORMS =
  'now, +30m / +2h (from now), YYYY-MM-DD (midnight), "YYYY-MM-DD HH:MM", ' +
  'YYYY-MM-DDTHH:MM[:SS] (local time), or ISO 8601 with Z or an offset (2026-03-05T14:30:00Z)';

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](?:0\d|1[0-4]):?[0-5]\d)?)?$/i;

/** The instant `text` names, or undefined when it is none of DATE_TIME_FORMS. */
export function parseDateTime(text: string, now: Date): Date | undefined {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'now') return new Date(now.getTime());
  if (trimmed.startsWith('+')) {
    const seconds = parseSeconds(trimmed.slice(1));
    return seconds === undefined ? undefined : new Date(now.getTime() + seconds * 1000);
  }
  const match = DATE_TIME.exec(trimmed);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) =>
    Number(match[i] ?? 0),
  ) as [number, number, number, number, number, number];
  const ms = Math.floor(Number(`0.${match[7] ?? '0'}`) * 1000);
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const offset = match[8];
  if (offset === undefined) return new Date(year, month - 1, day, hour, minute, second, ms);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return new Date(utc - offsetMinutes(offset) * 60_000);
}

/** What a `--since` value may look like, for hints. */
export const SINCE_FORMS = `a length of time ago (7d, 12h, 30m) or a date-time: ${DATE_TIME_FORMS}`;

/**
 * A point in the past as `--since` takes it: a length of time before `now` ("7d"), or a
 * date-time (parseDateTime); undefined when it is neither.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const at = parseDateTime(text, now);
  if (at !== undefined) return at;
  const seconds = /^\s*\d/.test(text) ? parseSeconds(text) : undefined;
  return seconds === undefined ? undefined : new Date(now.getTime() - seconds * 1000);
}

/** Whether the day exists: no February 30th, no month 13. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** "Z" → 0, "+01:00" / "+0100" → 60, "-05:30" → -330. */
function offsetMinutes(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return offset.startsWith('-') ? -minutes : minutes;
}

/** "2026-03-05 14:30" in the local time zone, as people read a wall clock. */
export function formatLocalTime(at: string | Date): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}
