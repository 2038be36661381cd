/**
 * Where a job runs, behind one interface: submit a prepared job, poll many jobs' states in one
 * call, cancel, read the log from a byte offset, describe. The services above it (backend-run.ts,
 * backend-jobs.ts) and the commands do not know which backend they talk to; the Slurm backend is
 * src/services/backends/slurm.ts, a fake one for unit tests is test/support/fake-backend.ts.
 */
import type { ArraySpec, SweepParameter } from '../core/array-spec.js';
import type { BackendName } from '../core/backend-config.js';
import type { ResourceRequest } from '../core/ledger-state.js';
import type { SlurmJobPhase } from '../core/slurm-states.js';
import type { HostUser } from '../host/identity.js';
import type { PreparedJob } from './job-submission.js';

export type { BackendName } from '../core/backend-config.js';

/** Where a job stands: `queued` and `running` are live, the rest are endings. */
export type JobPhase = SlurmJobPhase;

/** A job a backend holds, as rp lists it. */
export interface BackendJob {
  id: string;
  backend: BackendName;
  /** The backend's own name for the job (Slurm's job id). */
  backendJobId: string;
  user: string;
  project: { name: string; path: string };
  command: string;
  request: ResourceRequest;
  submittedAt: string;
  timeLimitSeconds?: number;
  /** An array: its task indices. */
  tasks?: number[];
}

/** One job's (or one array task's) state. */
export interface BackendJobState {
  id: string;
  task?: number;
  phase: JobPhase;
  /** Why a queued job waits, in the backend's words. */
  reason?: string;
  /** The script's exit code, where known. */
  exitCode?: number;
  /** When rp first saw it ended (ISO). */
  endedAt?: string;
}

export interface LogChunk {
  data: Buffer;
  /** Where the next read starts. */
  offset: number;
}

export interface SubmitRequest {
  prepared: PreparedJob;
  user: HostUser;
  groups: readonly number[];
  array?: ArraySpec;
  /** A grid (`--sweep`): `array` then numbers its tasks 0..n-1, the grid's order. */
  sweep?: readonly SweepParameter[];
  /**
   * The job's log goes to the project's `.rp/logs/` under this name (`--outfile_name`, or the
   * project's own with `stdout_to_file`), as a local job's; absent: the backend keeps it.
   */
  logName?: string;
}

export interface BackendDescription {
  name: BackendName;
  /** How rp reaches it, in words ("the Slurm commands on this machine", "ssh login1"). */
  reachedVia: string;
  lines: string[];
}

/** What a cancel could not do as asked. */
export interface CancelOutcome {
  /** Set when the job gets less than the `graceSeconds` asked for: what it gets at most. */
  graceCutToSeconds?: number;
}

export interface Backend {
  readonly name: BackendName;
  describe(): BackendDescription;
  submit(request: SubmitRequest): Promise<BackendJob>;
  /** Every job the backend knows of for this host, oldest first. */
  list(): Promise<BackendJob[]>;
  find(id: string): Promise<BackendJob | undefined>;
  /** The states of many jobs in one call: one entry per job, or per task of an array. */
  poll(jobs: readonly BackendJob[]): Promise<BackendJobState[]>;
  /**
   * Ends a job (or one task): SIGTERM, `graceSeconds`, then SIGKILL. Without `graceSeconds`, the
   * job's own grace (10 s here; on Slurm the one its script got at submit). Slurm kills what
   * outlives the cluster's KillWait, whatever the grace.
   */
  cancel(
    job: BackendJob,
    options: { task?: number; graceSeconds?: number },
  ): Promise<CancelOutcome>;
  /** The job's output from byte `offset` on (empty when there is none yet). */
  readLog(job: BackendJob, offset: number, task?: number): Promise<LogChunk>;
}

/** Whether a phase is an ending. */
export function hasEnded(phase: JobPhase): boolean {
  return phase !== 'queued' && phase !== 'running';
}
