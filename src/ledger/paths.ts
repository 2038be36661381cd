/**
 * The files rp keeps in its host directory (`rpHome`, /var/lib/rp unless configured otherwise).
 * Every rp process on the host, whoever runs it, uses these same paths.
 */
import { join, resolve } from 'node:path';

export const LEDGER_FILE = 'ledger.json';
export const HISTORY_FILE = 'history.jsonl';

export interface LedgerPaths {
  /** The host directory itself; watched for changes (see watch.ts). */
  dir: string;
  /** The ledger: live jobs only, replaced as a whole by every write. */
  ledger: string;
  /** Finished jobs, one JSON line each, only ever appended to. */
  history: string;
  /** The lock directory proper-lockfile creates with mkdir (atomic) while a transaction runs. */
  lock: string;
}

export function ledgerPaths(rpHome: string): LedgerPaths {
  const dir = resolve(rpHome);
  const ledger = join(dir, LEDGER_FILE);
  return { dir, ledger, history: join(dir, HISTORY_FILE), lock: `${ledger}.lock` };
}

/** Where a corrupt ledger is kept: `ledger.json.corrupt-<timestamp>`, safe in file names. */
export function corruptAsidePath(paths: LedgerPaths, at: Date, attempt = 0): string {
  const stamp = at.toISOString().replace(/:/g, '-');
  return `${paths.ledger}.corrupt-${stamp}${attempt === 0 ? '' : `-${attempt}`}`;
}
