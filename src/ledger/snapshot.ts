/**
 * A look at the ledger for commands that do not otherwise use the queue (`rp build`): no lock, no
 * directory created, no rebuild of a damaged file.
 */
import { readFile } from 'node:fs/promises';
import { parseLedgerText } from '../core/ledger-schema.js';
import { emptyLedger, type LedgerState } from '../core/ledger-state.js';
import { ledgerPaths } from './paths.js';

/** The ledger as it is now; empty when there is none yet, undefined when it cannot be read. */
export async function readLedgerSnapshot(rpHome: string): Promise<LedgerState | undefined> {
  let text: string;
  try {
    text = await readFile(ledgerPaths(rpHome).ledger, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? emptyLedger() : undefined;
  }
  const parsed = parseLedgerText(text);
  return parsed.kind === 'ok' ? parsed.state : undefined;
}
