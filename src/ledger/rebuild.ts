/**
 * The pure half of corruption recovery: turning the jobs that the injected `recover` found
 * (from Docker container labels) into a fresh, valid ledger.
 */
import { jobEntrySchema } from '../core/ledger-schema.js';
import { LEDGER_VERSION, type JobEntry, type LedgerState } from '../core/ledger-state.js';

export interface RebuiltLedger {
  state: LedgerState;
  /** Why entries were left out (invalid, or a second job with the same id). */
  dropped: string[];
}

export function rebuildLedger(entries: readonly JobEntry[]): RebuiltLedger {
  const jobs: JobEntry[] = [];
  const dropped: string[] = [];
  const ids = new Set<string>();
  for (const entry of entries) {
    const parsed = jobEntrySchema.safeParse(entry);
    if (!parsed.success) {
      dropped.push(`job ${String(entry?.id)}: not a valid entry`);
      continue;
    }
    if (ids.has(parsed.data.id)) {
      dropped.push(`job ${parsed.data.id}: duplicate id`);
      continue;
    }
    ids.add(parsed.data.id);
    jobs.push(parsed.data);
  }
  jobs.sort((a, b) => a.seq - b.seq);
  const maxSeq = jobs.reduce((max, job) => Math.max(max, job.seq), 0);
  return { state: { version: LEDGER_VERSION, nextSeq: maxSeq + 1, jobs }, dropped };
}
