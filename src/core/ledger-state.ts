/**
 * The shape of the host ledger: every job rp knows about on this machine, from the moment it is
 * queued until it finishes. Pure types and constructors; reading and writing live in src/ledger.
 */

/**
 * 2 added the recorded head of the queue and each job's image; 3 the detached jobs and their host
 * supervisor; 4 time limits and deadlines; 5 bookings; 6 the activity of a drop-folder job. An
 * older file is read as it is (it has none of these) and written back as version 6; an rp that
 * knows only an older version then refuses the file instead of dropping what it does not know.
 */
export const LEDGER_VERSION = 6;

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
  /** Where the job's output is written (detached jobs, --outfile_name), for `rp logs`. */
  logFile?: string;
  /** Set by `rp kill` before it stops a running job, so the history says 'killed'. */
  killedBy?: { user: string; uid: number; at: string };
  /**
   * The image the job runs (`rp/alice-proj:0123abcd`), so a rebuild of the project never removes
   * an image that a queued or granted job still needs.
   */
  image?: string;
  /**
   * A detached job (`rp run --detach`): no process of its own waits for it. The host supervisor
   * (LedgerState.hostSupervisor) starts it from its launch file, `<queue>/launch/<launch>`, and
   * records its end; the reaper leaves it alone whatever `supervisor` says.
   */
  detached?: { launch: string };
  /**
   * A task of an array or grid submission (`rp run --array 0-99%4`, `--sweep`): every task of one
   * submission shares its `id` (the array's, "rp kill 1234" ends them all) and has its own `seq`
   * and task index ("rp kill 1234_7"). `limit`: at most this many of the array's tasks hold
   * resources at once (`%N`).
   */
  array?: { task: number; limit?: number };
  /**
   * How long the job may run once its container starts (`rp run --time`); absent: no limit.
   * `signal`: sent `before` seconds ahead of the deadline (`--signal USR1@60`), for checkpointing.
   */
  timeLimit?: TimeLimitSpec;
  /**
   * When a limited job's time is up (ISO): set when it is marked running, and on its container's
   * labels, so whoever finds it overdue can stop it (src/core/time-limits.ts).
   */
  deadline?: string;
  /**
   * Granted to its user during their booking: it runs at most until `until` (ISO: the booking's
   * end plus the host's overrun), whatever its own limit.
   */
  booking?: { id: string; until: string };
  /** `--preemptible`: may run on booked resources, and is stopped when the booking starts. */
  preemptible?: true;
  /**
   * Set when a booking that needs its resources began (`at`): its deadline is then `at`, and it
   * ends as 'preempted'.
   */
  preempted?: { at: string; booking: string };
  /**
   * A drop-folder job (`rp activity`): the activity it runs for and the claimed input's name, so
   * listings and the history say which activity the job is.
   */
  activity?: { name: string; input: string };
}

export interface TimeLimitSpec {
  /** Whole seconds, 1 or more. */
  seconds: number;
  signal?: { name: string; before: number };
}

/** How listings and users name a job: "1234", or "1234_7" for task 7 of array 1234. */
export function jobLabel(job: Pick<JobEntry, 'id' | 'array'>): string {
  return job.array === undefined ? job.id : `${job.id}_${job.array.task}`;
}

/**
 * What listings show as a job's project: the project's name, or `activity:NAME` for a job of a
 * drop-folder activity (its project is the admin's; the activity is what users know).
 */
export function listedProject(job: {
  project: { name: string };
  activity?: { name: string } | undefined;
}): string {
  return job.activity === undefined ? job.project.name : `activity:${job.activity.name}`;
}

/** A job as every transition names it: ids are reused, the pair never is. */
export interface JobKey {
  id: string;
  seq: number;
}

export function isJob(entry: JobEntry, key: JobKey): boolean {
  return entry.id === key.id && entry.seq === key.seq;
}

export interface LedgerState {
  version: typeof LEDGER_VERSION;
  /** The next `seq` to hand out. */
  nextSeq: number;
  jobs: JobEntry[];
  /**
   * The job at the head of the queue, which reserves what frees up until it fits. Recorded so the
   * head stays the head until it is granted or leaves, whatever the fair order does meanwhile.
   */
  head?: JobKey;
  /**
   * The one process that runs the host's detached jobs (src/services/host-supervisor.ts), elected
   * in a transaction; absent when there is none. A dead one is replaced by the next rp command.
   */
  hostSupervisor?: ProcessRef;
  /** Upcoming and active bookings (`rp book`), by start; absent when there are none. */
  bookings?: Booking[];
}

/**
 * Resources booked ahead (`rp book`): during [start, end) they are kept for `user`, whose jobs
 * take them ahead of the queue; before it, other jobs may use them only if they end by `start`.
 */
export interface Booking {
  /** "b" and four digits, unique among the ledger's bookings ("rp book --cancel b1234"). */
  id: string;
  user: string;
  uid: number;
  /** ISO, on whole minutes. */
  start: string;
  end: string;
  request: ResourceRequest;
  /** Specific GPUs (`--gpu-ids 0,3`) rather than any `request.gpus` of them. */
  gpuIds?: number[];
  createdAt: string;
  /** When a job of its user was first seen holding resources during it (idle release). */
  usedAt?: string;
}

/** How a booking left the ledger: ran its course with use, released unused, or cancelled. */
export type BookingEnding = 'used' | 'released' | 'cancelled';

/** One line of the booking history (`queue/history/bookings/YYYY-MM.jsonl`). */
export interface BookingRecord extends Booking {
  ending: BookingEnding;
  /** When it left the ledger (ISO): its end, its release, or its cancellation. */
  endedAt: string;
}

export function toBookingRecord(
  booking: Booking,
  ending: BookingEnding,
  endedAt: string,
): BookingRecord {
  return { ...booking, request: { ...booking.request }, ending, endedAt };
}

export function emptyLedger(): LedgerState {
  return { version: LEDGER_VERSION, nextSeq: 1, jobs: [] };
}

/**
 * How a job left the ledger, as recorded in the history file. `timeout`: stopped at its time
 * limit; `preempted`: a preemptible job stopped because a booking of its resources began.
 */
export type JobEnding =
  'exited' | 'killed' | 'cancelled' | 'failed' | 'reaped' | 'timeout' | 'preempted';

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
  logFile?: string;
  /** The task index of an array or grid task. */
  array?: { task: number };
  /** A drop-folder job's activity and input (JobEntry.activity). */
  activity?: { name: string; input: string };
}

// ---------------------------------------------------------------------------------------------
// Added with the ledger store (src/ledger): pure helpers that every ledger decision can share.

/** The lowest and highest job id. Ids never start with 0, so "rp kill 0042" and "42" never differ. */
export const MIN_JOB_ID = 1000;
export const MAX_JOB_ID = 9999;

/**
 * Picks a four-digit job id not used by any live job. `randomInt(n)` returns an integer in
 * [0, n) and is passed in so that the choice is reproducible in tests. A random start (rather than
 * "lowest free") makes it unlikely that an id is reused right after its job ended, when someone
 * may still type it. Returns undefined only when all 9000 ids are live.
 */
export function allocateJobId(
  liveIds: ReadonlySet<string>,
  randomInt: (maxExclusive: number) => number,
): string | undefined {
  const span = MAX_JOB_ID - MIN_JOB_ID + 1;
  const start = randomInt(span);
  if (!Number.isInteger(start) || start < 0 || start >= span) {
    throw new RangeError(`randomInt(${span}) returned ${start}`);
  }
  // A linear probe from a random start always ends, and is as good as retrying at random while the
  // ledger holds a handful of jobs.
  for (let step = 0; step < span; step += 1) {
    const id = String(MIN_JOB_ID + ((start + step) % span));
    if (!liveIds.has(id)) return id;
  }
  return undefined;
}

/** How a job ended, for its history line. */
export interface JobOutcome {
  ending: JobEnding;
  /** ISO timestamp. */
  endedAt: string;
  exitCode?: number;
}

/** The history line for `job` leaving the ledger with `outcome`. */
export function toHistoryRecord(job: JobEntry, outcome: JobOutcome): HistoryRecord {
  const record: HistoryRecord = {
    id: job.id,
    user: job.user,
    uid: job.uid,
    project: { ...job.project },
    kind: job.kind,
    command: job.command,
    request: { ...job.request },
    submittedAt: job.submittedAt,
    endedAt: outcome.endedAt,
    ending: outcome.ending,
  };
  if (job.grant) record.grant = { ...job.grant };
  if (job.startedAt !== undefined) record.startedAt = job.startedAt;
  if (outcome.exitCode !== undefined) record.exitCode = outcome.exitCode;
  if (job.logFile !== undefined) record.logFile = job.logFile;
  if (job.array !== undefined) record.array = { task: job.array.task };
  if (job.activity !== undefined) record.activity = { ...job.activity };
  return record;
}

/**
 * Removes job `key` from `state` and returns the history line to append, or undefined (and the same
 * state object, so the store skips its write) when no such job is live. The store appends the
 * records a decision returns before it writes the ledger.
 */
export function removeJob(
  state: LedgerState,
  key: JobKey,
  outcome: JobOutcome,
): { state: LedgerState; record: HistoryRecord | undefined } {
  const job = state.jobs.find((entry) => isJob(entry, key));
  if (!job) return { state, record: undefined };
  return {
    state: { ...state, jobs: state.jobs.filter((entry) => entry !== job) },
    record: toHistoryRecord(job, outcome),
  };
}

/**
 * Added with src/host/process.ts (declaration merging keeps the original interface untouched):
 * the kernel's boot id (/proc/sys/kernel/random/boot_id) when the ref was taken. The ledger
 * survives a reboot but no process does, and early-boot pids and start times repeat from boot to
 * boot, so a ref from another boot is dead whatever its pid and start time say. Optional so that
 * refs written without it stay valid.
 */
export interface ProcessRef {
  bootId?: string;
}

/**
 * The jobs whose entry differs between two versions of the ledger (granted, marked running,
 * killed, adopted) or that left it: the ones whose waiters must look again.
 */
export function changedJobs(before: LedgerState, after: LedgerState): JobKey[] {
  const next = new Map(after.jobs.map((job) => [`${job.id}:${job.seq}`, job]));
  return before.jobs
    .filter((job) => {
      const now = next.get(`${job.id}:${job.seq}`);
      // Decisions keep the objects of the entries they leave alone.
      return now === undefined || (now !== job && JSON.stringify(now) !== JSON.stringify(job));
    })
    .map((job) => ({ id: job.id, seq: job.seq }));
}
