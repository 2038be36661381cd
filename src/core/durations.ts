/**
 * Lengths of time as people write them: `--time 2h`, `maxTime: "3d"`, `--since 7d`. Pure.
 *
 * Two families are read. Amounts with units ("90s", "30m", "2h", "1d", "1h30m", "1.5h") are
 * parsed by parse-duration, which knows the unit names people type ("2 hours", "1w"). Slurm's
 * colon forms ("MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS") are read here, because
 * a lab moving from Slurm types them from habit and no library reads them; a bare number is
 * minutes, as in Slurm (`--time 90` is an hour and a half, never 90 milliseconds).
 */
import parseDuration from 'parse-duration';

export const SECONDS_PER_MINUTE = 60;
export const SECONDS_PER_HOUR = 3600;
export const SECONDS_PER_DAY = 86_400;

/** What a length of time may look like, for hints (`rp book --duration`). */
export const LENGTH_FORMS = '90s, 30m, 2h, 1d, 1h30m, or as in Slurm: MM, HH:MM:SS, D-HH:MM:SS';

/** What a time-limit value may look like, for hints. */
export const DURATION_FORMS = `${LENGTH_FORMS}; 0 or "unlimited" for none`;

/** `unlimited` where a limit may be lifted: `--time 0`, `--time unlimited`. */
export type TimeLimit = number | 'unlimited';

const UNIT_FORM = /^(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$/i;
const SLURM_FORM = /^(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+)(?::(\d+))?)?)$/;

/**
 * Whole seconds in `text`, rounded up (a limit is never shorter than asked), or undefined when
 * it is not a length of time. Zero is returned as 0; callers decide what it means.
 */
export function parseSeconds(text: string): number | undefined {
  const trimmed = text.trim();
  const slurm = SLURM_FORM.exec(trimmed);
  if (slurm) return slurmSeconds(slurm);
  if (!UNIT_FORM.test(trimmed)) return undefined;
  const ms = parseDuration(trimmed.toLowerCase());
  if (ms === null || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.ceil(ms / 1000);
}

/**
 * Slurm's forms: with a day part, D-HH[:MM[:SS]]; without, MM, MM:SS or HH:MM:SS. Groups 1-4 are
 * the day form's, 5-7 the plain form's.
 */
function slurmSeconds(match: RegExpExecArray): number {
  const n = (index: number): number => Number(match[index] ?? 0);
  if (match[1] !== undefined) {
    return n(1) * SECONDS_PER_DAY + n(2) * SECONDS_PER_HOUR + n(3) * SECONDS_PER_MINUTE + n(4);
  }
  if (match[7] !== undefined) return n(5) * SECONDS_PER_HOUR + n(6) * SECONDS_PER_MINUTE + n(7);
  return n(5) * SECONDS_PER_MINUTE + n(6);
}

/**
 * A job's time limit: seconds, or 'unlimited' for `0`, `unlimited` or `infinite` (Slurm's words),
 * or undefined when `text` is neither.
 */
export function parseTimeLimit(text: string): TimeLimit | undefined {
  const word = text.trim().toLowerCase();
  if (word === 'unlimited' || word === 'infinite' || word === 'none') return 'unlimited';
  const seconds = parseSeconds(word);
  if (seconds === undefined) return undefined;
  return seconds === 0 ? 'unlimited' : seconds;
}

/**
 * A length of time for people, in its two largest units: "45s", "3m 12s", "2h", "2h 5m", "4d 1h".
 * Rounded down, so a job never looks older than it is; below a second (or negative, or not a
 * number) it is "0s".
 */
export function formatSeconds(total: number): string {
  const seconds = Number.isFinite(total) && total > 0 ? Math.floor(total) : 0;
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  const hours = Math.floor((seconds % SECONDS_PER_DAY) / SECONDS_PER_HOUR);
  const minutes = Math.floor((seconds % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE);
  const rest = seconds % SECONDS_PER_MINUTE;
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`;
  if (days > 0) return pair(days, 'd', hours, 'h');
  if (hours > 0) return pair(hours, 'h', minutes, 'm');
  if (minutes > 0) return pair(minutes, 'm', rest, 's');
  return `${rest}s`;
}

/** A limit for people: "2h", "unlimited". */
export function formatTimeLimit(limit: TimeLimit | undefined): string {
  return limit === undefined || limit === 'unlimited' ? 'unlimited' : formatSeconds(limit);
}
