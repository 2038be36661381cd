/**
 * The pure half of corruption recovery: turning the jobs that the injected `recover` found
 * (from Docker container labels), and whatever the unreadable file still holds, into a fresh,
 * valid ledger.
 */
import { bookingSchema, jobEntrySchema, ledgerStateSchema } from '../core/ledger-schema.js';
import {
  jobLabel,
  LEDGER_VERSION,
  type Booking,
  type JobEntry,
  type LedgerState,
} from '../core/ledger-state.js';

export interface RebuiltLedger {
  state: LedgerState;
  /** Why entries were left out (invalid, or a second job with the same id). */
  dropped: string[];
  /** How many queued jobs and bookings came from the unreadable file rather than from Docker. */
  salvaged: { jobs: number; bookings: number };
}

/** What an unreadable ledger's text still holds, unchecked. */
export interface Salvage {
  jobs: readonly unknown[];
  bookings: readonly unknown[];
  nextSeq?: unknown;
}

const NOTHING: Salvage = { jobs: [], bookings: [] };

/**
 * The entries of a ledger that is JSON but not a valid ledger (one bad field, an unknown key):
 * queued jobs have no container for Docker to recover them from, and bookings exist nowhere
 * else, so each entry that is valid on its own is kept. Text that is not JSON holds nothing.
 */
export function salvageLedgerText(text: string): Salvage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return NOTHING;
  }
  if (typeof raw !== 'object' || raw === null) return NOTHING;
  const { jobs, bookings, nextSeq } = raw as Record<string, unknown>;
  return {
    jobs: Array.isArray(jobs) ? jobs : [],
    bookings: Array.isArray(bookings) ? bookings : [],
    nextSeq,
  };
}

/**
 * A ledger of the recovered jobs (Docker's word wins for a job it knows), then the salvaged jobs
 * and bookings that are valid and do not clash. When the salvage would make the whole invalid,
 * it is left out and the ledger holds what Docker says alone.
 */
export function rebuildLedger(
  entries: readonly unknown[],
  salvage: Salvage = NOTHING,
): RebuiltLedger {
  const recovered = collectJobs(entries, 'recovered');
  const kept = collectJobs(salvage.jobs, 'from the unreadable ledger', recovered.labels);
  const bookings = collectBookings(salvage.bookings);
  const jobs = [...recovered.jobs, ...kept.jobs].sort((a, b) => a.seq - b.seq);
  const maxSeq = jobs.reduce((max, job) => Math.max(max, job.seq), 0);
  const claimedNext = Number.isInteger(salvage.nextSeq) ? (salvage.nextSeq as number) : 0;
  const state: LedgerState = {
    version: LEDGER_VERSION,
    nextSeq: Math.max(maxSeq + 1, claimedNext),
    jobs,
    ...(bookings.kept.length > 0 ? { bookings: bookings.kept } : {}),
  };
  const dropped = [...recovered.dropped, ...kept.dropped, ...bookings.dropped];
  if (!ledgerStateSchema.safeParse(state).success) {
    const alone = rebuildLedger(entries);
    return {
      ...alone,
      dropped: [...alone.dropped, 'everything kept from the unreadable ledger: it clashes'],
    };
  }
  return {
    state,
    dropped,
    salvaged: { jobs: kept.jobs.length, bookings: bookings.kept.length },
  };
}

function collectJobs(
  entries: readonly unknown[],
  source: string,
  taken: ReadonlySet<string> = new Set(),
): { jobs: JobEntry[]; dropped: string[]; labels: Set<string> } {
  const jobs: JobEntry[] = [];
  const dropped: string[] = [];
  const labels = new Set(taken);
  for (const entry of entries) {
    const parsed = jobEntrySchema.safeParse(entry);
    if (!parsed.success) {
      dropped.push(
        `job ${String((entry as { id?: unknown } | null)?.id)} (${source}): not a valid entry`,
      );
      continue;
    }
    // An array's tasks share one id; each task is one job.
    const label = jobLabel(parsed.data);
    if (labels.has(label)) {
      if (!taken.has(label)) dropped.push(`job ${label} (${source}): duplicate id`);
      continue;
    }
    labels.add(label);
    jobs.push(parsed.data);
  }
  return { jobs, dropped, labels };
}

function collectBookings(entries: readonly unknown[]): { kept: Booking[]; dropped: string[] } {
  const kept: Booking[] = [];
  const dropped: string[] = [];
  for (const entry of entries) {
    const parsed = bookingSchema.safeParse(entry);
    if (!parsed.success || kept.some((booking) => booking.id === parsed.data.id)) {
      dropped.push(`booking ${String((entry as { id?: unknown } | null)?.id)}: not a valid entry`);
      continue;
    }
    kept.push(parsed.data);
  }
  return { kept: kept.sort((a, b) => a.start.localeCompare(b.start)), dropped };
}
