/**
 * Where rp's jobs stand on a Slurm cluster, read from `squeue` (jobs Slurm still holds, and ended
 * ones for MinJobAge seconds) and `sacct` (every job, where the cluster keeps accounting), for
 * many jobs in one call each. Pure: the commands' arguments and parsers of their text output; the
 * Slurm backend runs them. The fixtures in test/core/slurm-states.test.ts are real output.
 */
import { parseArraySpec } from './array-spec.js';

/** What rp says about a Slurm job; `queued` and `running` are live, the rest are endings. */
export type SlurmJobPhase =
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'timeout'
  | 'cancelled'
  | 'out-of-memory'
  | 'node-fail'
  | 'preempted'
  | 'unknown';

export interface SlurmJobStatus {
  /** As Slurm prints it: "1234", "1234_7" (task 7 of array 1234), "1234_[0-5%2]" (pending tasks). */
  slurmId: string;
  /** The job, or for an array task the array's job: what `scancel` takes to end them all. */
  jobId: string;
  /** The task index of one array task. */
  task?: number;
  /** An entry that stands for tasks not yet started: their indices. */
  pendingTasks?: number[];
  /** The job's name; rp names its jobs `rp<id>`. */
  name: string;
  /** rp's job id, when the name is one rp gave (`rp1001` → "1001"). */
  rpId?: string;
  phase: SlurmJobPhase;
  /** Slurm's word, without the "by <uid>" sacct adds to CANCELLED. */
  slurmState: string;
  /**
   * Why a queued job waits (`Resources`, `Priority`, `Dependency`...). Only for queued jobs: an
   * ended job keeps its last pending reason in both squeue and sacct (a cancelled job still says
   * `BeginTime`), which would mislead; its phase says how it ended.
   */
  reason?: string;
  /**
   * sacct's ExitCode: the batch script's exit code and the signal that ended it, if any. A job
   * cancelled or timed out while running says `0:0` itself; the signal is its batch step's.
   */
  exitCode?: number;
  signal?: number;
}

/**
 * squeue's columns, `|`-separated: job id (with array task), name, full state, reason. `%j` may
 * hold a `|` in other users' job names; the parser takes the name as everything between the
 * first and the last two fields.
 */
export const SQUEUE_FORMAT = '%i|%j|%T|%r';

/**
 * squeue for the jobs named (rp<id>, all of them in one call), in every state: with
 * `--states=all` squeue also lists jobs that ended less than MinJobAge seconds ago.
 */
export function squeueArguments(names: readonly string[]): string[] {
  const args = ['--noheader', '--states=all', `--format=${SQUEUE_FORMAT}`];
  if (names.length > 0) args.push(`--name=${names.join(',')}`);
  return args;
}

/** sacct's columns, in `--parsable2` form (`|`-separated, no trailing `|`). */
export const SACCT_FIELDS = ['JobID', 'JobName', 'State', 'ExitCode', 'Reason'] as const;

/** sacct for the Slurm jobs given (ids as squeue or sbatch --parsable gave them). */
export function sacctArguments(jobIds: readonly string[]): string[] {
  return [
    '--parsable2',
    '--noheader',
    `--format=${SACCT_FIELDS.join(',')}`,
    `--jobs=${jobIds.join(',')}`,
  ];
}

/** Slurm's job states (squeue's %T, sacct's State) and what rp calls them. */
const PHASES: Record<string, SlurmJobPhase> = {
  PENDING: 'queued',
  CONFIGURING: 'queued',
  REQUEUED: 'queued',
  REQUEUE_HOLD: 'queued',
  REQUEUE_FED: 'queued',
  RESV_DEL_HOLD: 'queued',
  SPECIAL_EXIT: 'queued',
  RUNNING: 'running',
  // Still holding its node: ending (COMPLETING: the Epilog runs), paused or being signalled.
  COMPLETING: 'running',
  STAGE_OUT: 'running',
  SIGNALING: 'running',
  RESIZING: 'running',
  SUSPENDED: 'running',
  STOPPED: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  TIMEOUT: 'timeout',
  DEADLINE: 'timeout',
  CANCELLED: 'cancelled',
  REVOKED: 'cancelled',
  OUT_OF_MEMORY: 'out-of-memory',
  NODE_FAIL: 'node-fail',
  BOOT_FAIL: 'node-fail',
  PREEMPTED: 'preempted',
};

/** The phase of a Slurm state word ("CANCELLED by 0" included); 'unknown' for a new word. */
export function phaseOf(slurmState: string): SlurmJobPhase {
  return PHASES[bareState(slurmState)] ?? 'unknown';
}

/** Whether a phase is an ending: the job holds nothing any more. */
export function isEnded(phase: SlurmJobPhase): boolean {
  return phase !== 'queued' && phase !== 'running' && phase !== 'unknown';
}

/** `squeue --noheader --format=SQUEUE_FORMAT` output, one status per line. */
export function parseSqueue(text: string): SlurmJobStatus[] {
  const statuses: SlurmJobStatus[] = [];
  for (const line of lines(text)) {
    const fields = line.split('|');
    if (fields.length < 4) continue;
    const reason = fields.pop() as string;
    const state = fields.pop() as string;
    const id = fields.shift() as string;
    statuses.push(status(id, fields.join('|'), state, reason));
  }
  return statuses;
}

/**
 * `sacct --parsable2 --noheader --format=SACCT_FIELDS` output: one status per job or array task,
 * from its allocation line. Its steps (`1234.batch`, `1234_7.extern`, `1234.0`) add what the
 * allocation line lacks: a step killed by the memory limit makes the job out-of-memory.
 */
export function parseSacct(text: string): SlurmJobStatus[] {
  const byId = new Map<string, SlurmJobStatus>();
  const steps: Array<{ of: string; step: string; state: string; signal?: number }> = [];
  for (const line of lines(text)) {
    const fields = line.split('|');
    if (fields.length < SACCT_FIELDS.length) continue;
    // JobID|JobName|State|ExitCode|Reason, the name possibly holding a "|" of its own.
    const reason = fields.pop() as string;
    const exitCode = fields.pop() as string;
    const state = fields.pop() as string;
    const id = fields.shift() as string;
    const name = fields.join('|');
    const dot = id.indexOf('.');
    const code = /^(\d+):(\d+)$/.exec(exitCode);
    const signal = code && code[2] !== '0' ? Number(code[2]) : undefined;
    if (dot >= 0) {
      steps.push({
        of: id.slice(0, dot),
        step: id.slice(dot + 1),
        state,
        ...(signal ? { signal } : {}),
      });
      continue;
    }
    const entry = status(id, name, state, reason);
    if (code) entry.exitCode = Number(code[1]);
    if (signal !== undefined) entry.signal = signal;
    byId.set(id, entry);
  }
  for (const step of steps) {
    const job = byId.get(step.of);
    if (job === undefined) continue;
    if (job.phase === 'failed' && phaseOf(step.state) === 'out-of-memory') {
      job.phase = 'out-of-memory';
    }
    if (step.step === 'batch' && job.signal === undefined && step.signal !== undefined) {
      job.signal = step.signal;
    }
  }
  return [...byId.values()];
}

/**
 * One status per Slurm id from both sources: squeue's where it still lists the job (it is the
 * controller's current word), sacct's for the rest. Order: squeue's, then sacct's.
 */
export function mergeStatuses(
  fromSqueue: readonly SlurmJobStatus[],
  fromSacct: readonly SlurmJobStatus[],
): SlurmJobStatus[] {
  const merged = new Map<string, SlurmJobStatus>();
  for (const entry of fromSqueue) merged.set(entry.slurmId, entry);
  for (const entry of fromSacct) {
    const live = merged.get(entry.slurmId);
    if (live === undefined) merged.set(entry.slurmId, entry);
    // squeue has no exit code: take sacct's for a job both list as ended.
    else if (entry.exitCode !== undefined && live.exitCode === undefined && isEnded(live.phase)) {
      merged.set(entry.slurmId, { ...live, exitCode: entry.exitCode, signal: entry.signal });
    }
  }
  return [...merged.values()];
}

/** Slurm's reasons for a waiting job, in words for `rp ps`/`rp queue`; others as Slurm says. */
const REASONS: Record<string, string> = {
  Resources: 'waiting for resources',
  Priority: 'behind jobs of higher priority',
  Dependency: 'waiting for another job',
  DependencyNeverSatisfied: 'its dependency can never be met',
  JobHeldUser: 'held by its user',
  JobHeldAdmin: 'held by an administrator',
  BeginTime: 'not to start yet (--begin)',
  JobArrayTaskLimit: "at the array's limit of tasks running at once",
  QOSMaxGRESPerUser: 'at the per-user GPU limit',
  AssocGrpGRES: "at the account's GPU limit",
  ReqNodeNotAvail: 'a required node is not available',
  PartitionTimeLimit: "longer than the partition's time limit",
  NonZeroExitCode: 'exited with a non-zero code',
  OutOfMemory: 'ran out of memory',
};

/** A reason in words: "waiting for resources"; an unknown reason as Slurm wrote it. */
export function describeReason(reason: string): string {
  const head = reason.split(',')[0] ?? reason;
  return REASONS[head] ?? reason;
}

function status(id: string, name: string, state: string, reason: string): SlurmJobStatus {
  const slurmState = bareState(state);
  const entry: SlurmJobStatus = {
    slurmId: id,
    jobId: id,
    name,
    phase: phaseOf(slurmState),
    slurmState,
  };
  const rpId = /^rp(\d+)$/.exec(name)?.[1];
  if (rpId !== undefined) entry.rpId = rpId;
  if (entry.phase === 'queued' && reason !== '' && reason !== 'None') entry.reason = reason;
  const underscore = id.indexOf('_');
  if (underscore >= 0) {
    entry.jobId = id.slice(0, underscore);
    const task = id.slice(underscore + 1);
    if (/^\d+$/.test(task)) entry.task = Number(task);
    else {
      const range = /^\[(.*)\]$/.exec(task)?.[1];
      const pending = range === undefined ? undefined : pendingIndices(range);
      if (pending !== undefined) entry.pendingTasks = pending;
    }
  }
  return entry;
}

/** `0-5%2` of `1234_[0-5%2]`: the same syntax as `--array`, read by rp's own parser. */
function pendingIndices(range: string): number[] | undefined {
  try {
    return parseArraySpec(range).indices;
  } catch {
    return undefined;
  }
}

function bareState(state: string): string {
  return state.trim().split(' ')[0] ?? '';
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
