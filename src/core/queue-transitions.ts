/**
 * The job lifecycle as pure ledger transitions: queued → granted → running → (removed, with a
 * history line). Each is one decision inside a locked ledger transaction, so every rp process on
 * the host moves jobs the same way.
 */
import { ConfigError, UsageError } from './errors.js';
import type { HostCapacity, UserLimits } from './host-config.js';
import {
  allocateJobId,
  toBookingRecord,
  type BookingRecord,
  isJob,
  removeJob,
  type HistoryRecord,
  type JobEntry,
  type JobKey,
  type JobOutcome,
  type LedgerState,
  type ProcessRef,
} from './ledger-state.js';
import { checkAdmission, type AdmissionRefusal } from './admission.js';
import { DEFAULT_POLICY, plan, type SchedulerPolicy } from './scheduler.js';
import { gpusBusyOutsideRp, type GpuObservation } from './gpu-processes.js';
import { jobDeadline } from './time-limits.js';
import { markBookingsUsed, preemptForBookings, tendBookings } from './booking-reservations.js';
import { bookingRulesOf } from './host-config.js';

export interface HostPolicy {
  capacity: HostCapacity;
  limits: UserLimits;
  /** The last look at the GPUs' processes (see src/services/gpu-observation.ts); absent: none. */
  gpuObservation?: GpuObservation;
  /**
   * Job ids another backend of this host holds (a Slurm cluster's records, kept a week after
   * their end): a new job here never takes one, so that `rp kill` and `rp logs` reach the job
   * meant.
   */
  idsElsewhere?: ReadonlySet<string>;
}

/**
 * The scheduler's policy on this host now: the GPUs busy outside rp (under `gpus.unmanaged:
 * "avoid"`) judged against the ledger, since a GPU process in a job's container is rp's own.
 */
export function schedulerPolicyOf(
  state: Pick<LedgerState, 'jobs'>,
  policy: HostPolicy,
): SchedulerPolicy {
  if (policy.gpuObservation === undefined) return DEFAULT_POLICY;
  const busyGpus = gpusBusyOutsideRp(state, policy.gpuObservation, policy.limits.unmanagedGpus);
  return busyGpus.size === 0 ? DEFAULT_POLICY : { ...DEFAULT_POLICY, busyGpus };
}

export type NewJob = Omit<
  JobEntry,
  'id' | 'seq' | 'state' | 'grant' | 'grantedAt' | 'startedAt' | 'container'
>;

export interface Transition<T> {
  state: LedgerState;
  result: T;
  history?: readonly HistoryRecord[];
  /** Bookings that left the ledger (ended, released, cancelled), for the booking history. */
  bookingHistory?: readonly BookingRecord[];
}

/**
 * Adds a job at the back of the queue, then lets the scheduler grant what it can (possibly this
 * job). A request that can never be granted is refused here, before anything is queued.
 */
export function enqueue(
  state: LedgerState,
  job: NewJob,
  policy: HostPolicy,
  now: Date,
  randomInt: (maxExclusive: number) => number,
): Transition<JobEntry> {
  const id = admit(state, job, policy, randomInt);
  const entry: JobEntry = { ...job, id, seq: state.nextSeq, state: 'queued' };
  const queued: LedgerState = {
    ...state,
    nextSeq: state.nextSeq + 1,
    jobs: [...state.jobs, entry],
  };
  const scheduled = schedule(queued, policy, now);
  const current = scheduled.state.jobs.find((candidate) => isJob(candidate, entry)) ?? entry;
  return { ...scheduled, result: current };
}

/** One task of an array or grid submission. */
export interface NewTask {
  /** The task index ("1234_7"). */
  task: number;
  /** The task's command line, its placeholders filled in (for listings). */
  command: string;
}

/**
 * Adds every task of an array or grid submission at once, sharing one job id, each with its own
 * seq in task order, then lets the scheduler grant what it can. `limit` (`%N`) caps how many of
 * them hold resources at once; `logFileOf` names each task's log file once the id is known.
 */
export function enqueueArray(
  state: LedgerState,
  job: NewJob,
  tasks: readonly NewTask[],
  options: { limit?: number; logFileOf?: (id: string, task: number) => string },
  policy: HostPolicy,
  now: Date,
  randomInt: (maxExclusive: number) => number,
): Transition<JobEntry[]> {
  if (tasks.length === 0) throw new UsageError('the submission has no tasks');
  const id = admit(state, job, policy, randomInt);
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  const entries = tasks.map((task, index): JobEntry => ({
    ...job,
    command: task.command,
    id,
    seq: state.nextSeq + index,
    state: 'queued',
    array: { task: task.task, ...limit },
    ...(options.logFileOf ? { logFile: options.logFileOf(id, task.task) } : {}),
  }));
  const queued: LedgerState = {
    ...state,
    nextSeq: state.nextSeq + entries.length,
    jobs: [...state.jobs, ...entries],
  };
  const scheduled = schedule(queued, policy, now);
  const current = new Map(scheduled.state.jobs.map((entry) => [entry.seq, entry]));
  return { ...scheduled, result: entries.map((entry) => current.get(entry.seq) ?? entry) };
}

const ADMISSION_HINTS: Partial<Record<AdmissionRefusal, string>> = {
  capacity: 'ask for less (--gpu, --cpu, --mem); "rp host show" lists capacity and limits',
  limit: 'ask for less (--gpu, --cpu, --mem); "rp host show" lists capacity and limits',
  time: 'give a shorter --time (or "time" in .rp/info.json); "rp host show" lists the limits',
};

/** Refuses a request that can never be granted; else a job id for it. */
function admit(
  state: LedgerState,
  job: NewJob,
  policy: HostPolicy,
  randomInt: (maxExclusive: number) => number,
): string {
  const admission = checkAdmission(job.request, job.user, policy.capacity, policy.limits, job);
  if (!admission.ok) {
    const ErrorType = admission.refusal === 'invalid' ? UsageError : ConfigError;
    throw new ErrorType(admission.reason, { hint: ADMISSION_HINTS[admission.refusal] });
  }
  const taken = new Set([...state.jobs.map((entry) => entry.id), ...(policy.idsElsewhere ?? [])]);
  const id = allocateJobId(taken, randomInt);
  if (id === undefined) {
    throw new ConfigError('the queue is full: 9000 jobs are live on this host');
  }
  return id;
}

/**
 * Grants every queued job the scheduler says can start now and records the head of the queue.
 * Queued jobs the current config can no longer serve stay queued (see plan()). Returns the same
 * state object when nothing changes.
 */
export function schedule(current: LedgerState, policy: HostPolicy, now: Date): Transition<void> {
  // Bookings first: used ones are marked, idle and ended ones leave, before anything is granted.
  const tended = tendBookings(current, bookingRulesOf(policy.limits), now);
  const state = preemptForBookings(tended.state, policy.capacity, now);
  const bookingHistory = [
    ...tended.released.map((booking) => toBookingRecord(booking, 'released', now.toISOString())),
    ...tended.ended.map((booking) =>
      toBookingRecord(booking, booking.usedAt === undefined ? 'released' : 'used', booking.end),
    ),
  ];
  const left = bookingHistory.length === 0 ? {} : { bookingHistory };
  const decided = plan(
    state,
    policy.capacity,
    policy.limits,
    now,
    schedulerPolicyOf(state, policy),
  );
  const headMoved = !sameKey(decided.head, state.head);
  if (decided.grants.length === 0 && !headMoved) return { state, result: undefined, ...left };
  const grants = new Map(decided.grants.map((grant) => [`${grant.jobId}:${grant.seq}`, grant]));
  const next: LedgerState = {
    ...state,
    jobs: state.jobs.map((job) => {
      const granted = grants.get(`${job.id}:${job.seq}`);
      if (!granted) return job;
      const inBooking = granted.booking === undefined ? {} : { booking: { ...granted.booking } };
      return {
        ...job,
        state: 'granted',
        grant: granted.grant,
        grantedAt: decided.grantedAt,
        ...inBooking,
      };
    }),
  };
  if (decided.head === undefined) delete next.head;
  else next.head = { ...decided.head };
  // A booker granted in their booking has used it: it is never released as idle.
  return { state: markBookingsUsed(next, now), result: undefined, ...left };
}

function sameKey(a: JobKey | undefined, b: JobKey | undefined): boolean {
  return a?.id === b?.id && a?.seq === b?.seq;
}

/**
 * Records that a granted job's container exists and is about to run, and which process supervises
 * it from now on (the host supervisor, for a detached job). `now` is when its clock starts: a job
 * with a time limit gets its deadline from it (deadlineOf), which its container was told. Undefined
 * (and no change) when the job is no longer in the ledger as `key`, or was never granted.
 */
export function markRunning(
  state: LedgerState,
  key: JobKey,
  container: { id: string; name: string },
  now: Date,
  supervisor?: ProcessRef,
): Transition<JobEntry | undefined> {
  const job = state.jobs.find((entry) => isJob(entry, key));
  if (!job || job.state === 'queued') return { state, result: undefined };
  const deadline = jobDeadline(job, now);
  const running: JobEntry = {
    ...job,
    state: 'running',
    container,
    startedAt: now.toISOString(),
    ...(supervisor ? { supervisor: { ...supervisor } } : {}),
    ...(deadline ? { deadline: deadline.toISOString() } : {}),
  };
  return {
    state: { ...state, jobs: state.jobs.map((entry) => (entry === job ? running : entry)) },
    result: running,
  };
}

/**
 * Removes a job that ended, writes its history line, and grants what its resources now allow.
 * A job already gone (killed, reaped), or whose id now belongs to another submission, changes
 * nothing.
 */
export function finish(
  state: LedgerState,
  key: JobKey,
  outcome: JobOutcome,
  policy: HostPolicy,
  now: Date,
): Transition<boolean> {
  // A job stopped by `rp kill`, or for a booking, ended because of it, whatever its exit code.
  const entry = state.jobs.find((job) => isJob(job, key));
  const ending =
    entry?.killedBy !== undefined
      ? 'killed'
      : entry?.preempted !== undefined
        ? 'preempted'
        : outcome.ending;
  const removed = removeJob(state, key, { ...outcome, ending });
  if (!removed.record) return { state, result: false };
  const scheduled = schedule(removed.state, policy, now);
  return { ...scheduled, result: true, history: [removed.record] };
}
