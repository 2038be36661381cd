/**
 * The shape of the host ledger: every job rp knows about on this machine, from the moment it is
 * queued until it finishes. Pure types and constructors; reading and writing live in src/ledger.
 */

export const LEDGER_VERSION = 1;

/** What a job asks for. Memory is kept in whole MiB so sums never drift. */
export interface ResourceRequest {
  gpus: number;
  cpus: number;
  memoryMb: number;
}

/** What a job was given: specific GPU indices and CPU core ids, and an amount of memory. */
export interface Grant {
  gpus: number[];
  cpus: number[];
  memoryMb: number;
}

/**
 * A process identified so that a reused pid is not mistaken for it: `startTime` is field 22 of
 * /proc/<pid>/stat (clock ticks since boot), kept as a string.
 */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

export type JobState = 'queued' | 'granted' | 'running';

export type JobKind = 'run' | 'enter';

export interface JobEntry {
  /** Four digits, unique among live jobs ("rp kill 1234"). */
  id: string;
  /** Increases with every submission on the host; queue order among equals. */
  seq: number;
  user: string;
  uid: number;
  project: { path: string; name: string };
  kind: JobKind;
  /** The command line the job runs, as the user typed it (for listings only). */
  command: string;
  request: ResourceRequest;
  state: JobState;
  grant?: Grant;
  /** ISO timestamps. */
  submittedAt: string;
  grantedAt?: string;
  startedAt?: string;
  /** The rp process that waits for, then supervises, the job. */
  supervisor: ProcessRef;
  container?: { id: string; name: string };
}

export interface LedgerState {
  version: typeof LEDGER_VERSION;
  /** The next `seq` to hand out. */
  nextSeq: number;
  jobs: JobEntry[];
}

export function emptyLedger(): LedgerState {
  return { version: LEDGER_VERSION, nextSeq: 1, jobs: [] };
}

/** How a job left the ledger, as recorded in the history file. */
export type JobEnding = 'exited' | 'killed' | 'cancelled' | 'failed' | 'reaped';

/** One line of the history file (JSON lines). */
export interface HistoryRecord {
  id: string;
  user: string;
  uid: number;
  project: { path: string; name: string };
  kind: JobKind;
  command: string;
  request: ResourceRequest;
  grant?: Grant;
  submittedAt: string;
  startedAt?: string;
  endedAt: string;
  exitCode?: number;
  ending: JobEnding;
}
