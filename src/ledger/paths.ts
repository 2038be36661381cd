/**
 * The files of the host's queue. They live in `queue/` under the host directory (`rpHome`,
 * /var/lib/rp unless configured otherwise): every rp user of the host writes there, while the
 * host directory itself, with the admin's config.json, is writable by root only. Every rp process
 * on the host, whoever runs it, uses these same paths.
 */
import { join, resolve } from 'node:path';

/** The group-writable folder under the host directory that holds the queue's files. */
export const QUEUE_DIR = 'queue';
export const LEDGER_FILE = 'ledger.json';
/** The folder of the history's monthly files (`2026-12.jsonl`); see history.ts. */
export const HISTORY_DIR = 'history';
/** In the history folder: the folder of the booking history's monthly files. */
export const BOOKING_HISTORY_DIR = 'bookings';
/** The single history file of earlier rp versions: still read, never written. */
export const LEGACY_HISTORY_FILE = 'history.jsonl';

/** Where the history lives (see history.ts). */
export interface HistoryPaths {
  /** The folder of the monthly files, `queue/history`. */
  dir: string;
  /** The single file of earlier rp versions, `queue/history.jsonl`: read, never written. */
  legacy: string;
}

export interface LedgerPaths {
  /** The queue folder (`<rpHome>/queue`); watched for changes (see watch.ts). */
  dir: string;
  /** The ledger: live jobs only, replaced as a whole by every write. */
  ledger: string;
  /** Finished jobs, one JSON line each, only ever appended to: a file per month. */
  history: HistoryPaths;
  /** Bookings that left the ledger, the same way: `queue/history/bookings/2026-12.jsonl`. */
  bookingHistory: { dir: string };
  /** The lock directory proper-lockfile creates with mkdir (atomic) while a transaction runs. */
  lock: string;
}

export function ledgerPaths(rpHome: string): LedgerPaths {
  const dir = join(resolve(rpHome), QUEUE_DIR);
  const ledger = join(dir, LEDGER_FILE);
  return {
    dir,
    ledger,
    history: { dir: join(dir, HISTORY_DIR), legacy: join(dir, LEGACY_HISTORY_FILE) },
    bookingHistory: { dir: join(dir, HISTORY_DIR, BOOKING_HISTORY_DIR) },
    lock: `${ledger}.lock`,
  };
}

/** Where a corrupt ledger is kept: `ledger.json.corrupt-<timestamp>`, safe in file names. */
export function corruptAsidePath(paths: LedgerPaths, at: Date, attempt = 0): string {
  const stamp = at.toISOString().replace(/:/g, '-');
  return `${paths.ledger}.corrupt-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
}
