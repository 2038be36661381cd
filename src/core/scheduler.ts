/**
 * The scheduling policy: who gets which GPUs, cores and memory, and in what order. A pure function
 * of the ledger, the host's capacity and limits, and the time; the ledger store applies its answer
 * inside one locked read-modify-write, so every rp process on the host decides the same way.
 *
 * The rules, in the order they apply:
 * 1. Admission: a request the host or the user's limit can never satisfy is refused at once, so
 *    nobody waits forever for something that cannot happen.
 * 2. Order: users holding less are served first (their dominant share, below), ties by `seq`
 *    (first come, first served). Shares are updated as this plan grants, so two users waiting
 *    alternate instead of one draining its whole backlog.
 * 3. Head reservation: the first job in that order that does not fit becomes the head and reserves
 *    what is free of what it needs. Later jobs may start only on what is left after that, so a
 *    stream of small jobs cannot keep a big one waiting forever: whatever is freed goes to the
 *    head until it fits. EASY backfill with walltimes: a later job may also start on what the head
 *    has reserved when its time limit (plus the kill wait) ends before the head can start, which
 *    is when the jobs holding resources will have given back enough by their own limits (never,
 *    while an unlimited job must end first): it delays the head by nothing.
 * 4. The head sticks: the head is recorded in the ledger (`state.head`) and is considered first in
 *    every later plan, whatever the fair order does meanwhile (a user's share falls when their job
 *    ends), until it is granted or leaves the queue. Only a head that its own user's limit now
 *    holds back, or that the config can no longer serve, loses its place.
 *    Starvation guard: after the head, a job that has waited longer than `starvationGuardMs` is
 *    moved to the front (the oldest such job only), where it stays until it is granted.
 * 5. User limits: a job that would take its user over their limit waits (it fits once the user's
 *    other jobs end) and keeps the headroom it still needs from the user's later jobs, so a
 *    user's own stream of small jobs cannot starve their big one either.
 * 6. Array limits: a task of an array submitted with `%N` waits while N of its array's tasks hold
 *    resources; like a user limit, it reserves nothing, so it never holds up other jobs.
 * 7. GPUs busy outside rp (`SchedulerPolicy.busyGpus`, under `gpus.unmanaged: "avoid"`): a GPU on
 *    which a process rp did not start runs is not free, whatever the ledger says, until it is
 *    seen free again. Nothing ends when it does, so it never counts towards a head's start time.
 */
import type { HostCapacity, ResourceLimit, UserLimits } from './host-config.js';
import { formatLocalTime } from './dates.js';
import { bookingRulesOf, limitFor } from './host-config.js';
import { BookingLedger, bookingUntil, type Holdback } from './booking-reservations.js';
import type {
  Booking,
  Grant,
  JobEntry,
  JobKey,
  LedgerState,
  ResourceRequest,
} from './ledger-state.js';
import { checkAdmission, type AdmissionRefusal } from './admission.js';
import {
  add,
  amountText,
  capacityTotals,
  dominantShare,
  fits,
  grantAmounts,
  headroomFor,
  minimum,
  nonNegative,
  NOTHING,
  overLimit,
  pickIds,
  shortfall,
  subtract,
  type Amounts,
} from './resource-amounts.js';
import { killWaitOf, latestEndMs } from './time-limits.js';
import type { ResourceKind } from './units.js';
import { formatAmount } from './units.js';

// ---------------------------------------------------------------------------------------------
// Planning

/** How long a job may be passed over by fairness before it moves to the front: one day. */
export const DEFAULT_STARVATION_GUARD_MS = 24 * 60 * 60 * 1000;

export interface SchedulerPolicy {
  /** A queued job older than this moves to the front of the queue (the oldest such job). */
  starvationGuardMs: number;
  /**
   * GPUs used by processes rp did not start, by index, with who uses them for people
   * ("unmanaged: alice (pid 4242, 1.5 GB)"): never granted while listed.
   */
  busyGpus?: ReadonlyMap<number, string>;
}

export const DEFAULT_POLICY: SchedulerPolicy = { starvationGuardMs: DEFAULT_STARVATION_GUARD_MS };

export interface PlannedGrant {
  jobId: string;
  seq: number;
  user: string;
  grant: Grant;
  /** Granted in its user's booking: runs at most until its end (plus the overrun). */
  booking?: JobEntry['booking'];
}

export interface Plan {
  /** Jobs to move from queued to granted now, in the order they were decided. */
  grants: PlannedGrant[];
  /** When they were granted (`now`), for the jobs' `grantedAt`. */
  grantedAt: string;
  /** The job at the head of the queue, which holds a reservation; undefined when none waits. */
  head: JobKey | undefined;
}

/**
 * Decides which queued jobs start now and with which GPUs, cores and memory. Jobs that are granted
 * or running keep their grants. `now` decides which jobs the starvation guard protects.
 *
 * A queued job that the config no longer allows (an admin lowered a limit or removed a GPU) is
 * neither granted nor removed: it stays queued, and describeQueue says why. Only its owner, root,
 * or the admission check at submit time removes a job, never another process's plan (Slurm keeps
 * such jobs pending with a reason in the same way).
 */
export function plan(
  state: LedgerState,
  capacity: HostCapacity,
  limits: UserLimits,
  now: Date,
  policy: SchedulerPolicy = DEFAULT_POLICY,
): Plan {
  const result = walkQueue(state, capacity, limits, now, policy, 'grants');
  const grants: PlannedGrant[] = [];
  for (const outcome of result.outcomes) {
    const { job } = outcome;
    if (outcome.kind === 'granted') {
      const booking = outcome.booking === undefined ? {} : { booking: outcome.booking };
      grants.push({
        jobId: job.id,
        seq: job.seq,
        user: job.user,
        grant: outcome.grant,
        ...booking,
      });
    }
  }
  return {
    grants,
    grantedAt: now.toISOString(),
    head: result.head === undefined ? undefined : { id: result.head.id, seq: result.head.seq },
  };
}

// ---------------------------------------------------------------------------------------------
// Queue description (rp ps / rp queue)

export type QueueStatus =
  /** Resources are free for it: it starts with the next plan. */
  | 'starting'
  /** At the head of the queue: it reserves resources as they free up. */
  | 'head'
  /** Waits for resources, behind the head. */
  | 'waiting'
  /** Waits until its user's other jobs end. */
  | 'user-limit'
  /** Waits until other tasks of its array end (`%N`). */
  | 'array-limit'
  /** Can never be granted under the current config. */
  | 'unservable';

export interface QueueEntryStatus {
  jobId: string;
  seq: number;
  user: string;
  /** 1 is served first. */
  position: number;
  status: QueueStatus;
  /** For people: "2 GPUs (0 free)", "user limit: 4 GPUs (alice holds 3)", ... */
  waitingFor: string;
}

/** Every queued job, in the order the scheduler serves them, with what each waits for. */
export function describeQueue(
  state: LedgerState,
  capacity: HostCapacity,
  limits: UserLimits,
  now: Date,
  policy: SchedulerPolicy = DEFAULT_POLICY,
): QueueEntryStatus[] {
  const result = walkQueue(state, capacity, limits, now, policy, 'every outcome');
  return result.outcomes.map((outcome, i) => ({
    jobId: outcome.job.id,
    seq: outcome.job.seq,
    user: outcome.job.user,
    position: i + 1,
    status: statusOf(outcome),
    waitingFor: waitingFor(outcome),
  }));
}

function statusOf(outcome: Outcome): QueueStatus {
  switch (outcome.kind) {
    case 'granted':
      return 'starting';
    case 'head':
      return 'head';
    case 'waiting':
      return 'waiting';
    case 'user-limit':
      return 'user-limit';
    case 'array-limit':
      return 'array-limit';
    case 'unservable':
      return 'unservable';
  }
}

function waitingFor(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'granted':
      return 'nothing: starting';
    case 'head':
      return outcome.shortfall;
    case 'waiting': {
      const behind = `behind job ${outcome.head.id} at the head of the queue`;
      return outcome.shortfall === '' ? behind : `${outcome.shortfall}; ${behind}`;
    }
    case 'user-limit':
    case 'array-limit':
      return outcome.detail;
    case 'unservable':
      return `cannot run: ${outcome.reason}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The walk shared by plan and describeQueue.

type Outcome =
  | { kind: 'granted'; job: JobEntry; grant: Grant; booking?: JobEntry['booking'] }
  | { kind: 'unservable'; job: JobEntry; refusal: AdmissionRefusal; reason: string }
  | { kind: 'user-limit'; job: JobEntry; detail: string }
  | { kind: 'array-limit'; job: JobEntry; detail: string }
  | { kind: 'head'; job: JobEntry; shortfall: string }
  | { kind: 'waiting'; job: JobEntry; shortfall: string; head: JobEntry };

interface WalkResult {
  outcomes: Outcome[];
  head: JobEntry | undefined;
}

/** What the user's later jobs must leave of the user's limit, and for which job. */
interface UserReservation {
  amounts: Amounts;
  forJob: string;
}

/**
 * What a walk is for: a plan needs only the grants and the head, so it stops once the head is
 * chosen and no CPU is left (every admitted job asks for one); a description needs the outcome
 * of every queued job.
 */
type WalkPurpose = 'grants' | 'every outcome';

function walkQueue(
  state: LedgerState,
  capacity: HostCapacity,
  limits: UserLimits,
  now: Date,
  policy: SchedulerPolicy,
  purpose: WalkPurpose,
): WalkResult {
  const total = capacityTotals(capacity);

  // What is taken: by jobs that hold a grant, and then by what this walk grants.
  const usedGpus = new Set<number>();
  const usedCpus = new Set<number>();
  let usedMemory = 0;
  const held = new Map<string, Amounts>();
  // How many tasks of each array hold resources, for `%N`.
  const arrayHeld = new Map<string, number>();
  // What each holder holds and when it will have given it back at the latest, for backfill.
  const killWait = killWaitOf(limits);
  const holders: Holder[] = [];
  const holdings = new Map<string, Holder[]>();
  for (const job of state.jobs) {
    // The store writes a grant together with the state change, so a job that holds resources
    // always has one; a queued job holds nothing.
    if (job.state === 'queued' || job.grant === undefined) continue;
    job.grant.gpus.forEach((id) => usedGpus.add(id));
    job.grant.cpus.forEach((id) => usedCpus.add(id));
    usedMemory += job.grant.memoryMb;
    held.set(job.user, add(held.get(job.user) ?? NOTHING, grantAmounts(job.grant)));
    if (job.array) arrayHeld.set(job.id, (arrayHeld.get(job.id) ?? 0) + 1);
    holders.push({ amounts: grantAmounts(job.grant), endMs: latestEndMs(job, now, killWait) });
    const mine = holdings.get(job.user) ?? [];
    mine.push({ amounts: grantAmounts(job.grant), endMs: latestEndMs(job, now, killWait) });
    holdings.set(job.user, mine);
  }
  const bookings = new BookingLedger(state.bookings ?? [], now, killWait, holdings);
  const rules = bookingRulesOf(limits);
  // What a job must leave alone for other users' bookings (nothing, without bookings).
  // A preemptible job may run on booked resources anyway: it is stopped when the booking starts.
  const holdbackOf = (job: JobEntry): Holdback =>
    bookings.empty || job.preemptible === true ? NO_HOLDBACK : bookings.holdbackFor(job);
  const busyGpus = policy.busyGpus ?? new Map<number, string>();
  let freeGpus = capacity.gpus
    .map((gpu) => gpu.index)
    .filter((id) => !usedGpus.has(id) && !busyGpus.has(id));
  // Why GPUs that rp itself does not use are not free, for a job short of GPUs.
  const busyNote = [...busyGpus]
    .filter(([id]) => !usedGpus.has(id) && capacity.gpus.some((gpu) => gpu.index === id))
    .sort(([a], [b]) => a - b)
    .map(([id, who]) => `GPU ${id} busy outside rp (${who})`)
    .join('; ');
  const withBusy = (missing: string, need: ResourceRequest, usable: Amounts): string =>
    busyNote === '' || need.gpus <= usable.gpus
      ? missing
      : `${missing}${missing === '' ? '' : '; '}${busyNote}`;
  let freeCpus = capacity.cpus.filter((id) => !usedCpus.has(id));
  // A config that shrank below what running jobs hold leaves nothing free, not a negative amount.
  let freeMemory = Math.max(0, capacity.memoryMb - usedMemory);
  const free = (): Amounts => ({
    gpus: freeGpus.length,
    cpus: freeCpus.length,
    memoryMb: freeMemory,
  });

  const outcomes: Outcome[] = [];
  const admitted: JobEntry[] = [];
  for (const job of state.jobs.filter((entry) => entry.state === 'queued').sort(bySeq)) {
    const admission = checkAdmission(job.request, job.user, capacity, limits, job);
    if (admission.ok) admitted.push(job);
    else
      outcomes.push({
        kind: 'unservable',
        job,
        refusal: admission.refusal,
        reason: admission.reason,
      });
  }

  let head: JobEntry | undefined;
  let headReserved: Amounts = NOTHING;
  // When the head can start at the latest, by the limits of the jobs holding what it needs.
  let headStartMs = -Infinity;
  // Whether the job, started now, is sure to be gone by `ms`: never without a time limit.
  const endsBy = (job: JobEntry, ms: number): boolean => {
    const end = latestEndMs(job, now, killWait);
    return Number.isFinite(end) && Number.isFinite(ms) && end <= ms;
  };
  const userReserved = new Map<string, UserReservation>();
  const guard = { done: false };
  // The recorded head goes first, before the guard and the fair order (rule 4).
  let sticky = admitted.find(
    (job) => state.head !== undefined && job.id === state.head.id && job.seq === state.head.seq,
  );
  const pending = new PendingJobs(admitted);

  /** Grants `job` what it asks for now, of the resources `holdback` leaves it. */
  const grantNow = (job: JobEntry, holdback: Holdback, booking?: Booking): void => {
    const need = job.request;
    const grant: Grant = {
      gpus: pickIds(
        freeGpus.filter((id) => !holdback.gpuIds.has(id)),
        need.gpus,
        booking?.gpuIds,
      ),
      cpus: pickIds(freeCpus, need.cpus),
      memoryMb: need.memoryMb,
    };
    freeGpus = freeGpus.filter((id) => !grant.gpus.includes(id));
    freeCpus = freeCpus.filter((id) => !grant.cpus.includes(id));
    freeMemory -= grant.memoryMb;
    held.set(job.user, add(held.get(job.user) ?? NOTHING, grantAmounts(grant)));
    if (job.array) arrayHeld.set(job.id, (arrayHeld.get(job.id) ?? 0) + 1);
    const endMs =
      booking === undefined
        ? latestEndMs(job, now, killWait)
        : Math.min(latestEndMs(job, now, killWait), Date.parse(bookingUntil(booking, rules)));
    holders.push({ amounts: grantAmounts(grant), endMs });
    bookings.hold(job.user, grantAmounts(grant), endMs);
    const inBooking =
      booking === undefined
        ? {}
        : { booking: { id: booking.id, until: bookingUntil(booking, rules) } };
    outcomes.push({ kind: 'granted', job, grant, ...inBooking });
  };

  // During a booking, its user's jobs that fit in what is left of it go first (ahead of the
  // head and the fair order), within their user's and array's limits.
  for (const job of bookings.empty ? [] : admitted) {
    const booking = bookings.bookingFor(job);
    if (booking === undefined) continue;
    const arrayLimit = job.array?.limit;
    if (arrayLimit !== undefined && (arrayHeld.get(job.id) ?? 0) >= arrayLimit) continue;
    const have = held.get(job.user) ?? NOTHING;
    if (overLimit(job.request, have, NOTHING, limitFor(limits, job.user)).length > 0) continue;
    const holdback = holdbackOf(job);
    if (!fits(job.request, subtract(free(), holdback.amounts))) continue;
    pending.remove(job);
    grantNow(job, holdback, booking);
  }

  while (pending.size > 0) {
    if (purpose === 'grants' && head !== undefined && freeCpus.length === 0) break;
    const { job, guarded } =
      sticky !== undefined
        ? { job: sticky, guarded: false }
        : nextJob(pending, held, total, now, policy, guard);
    sticky = undefined;
    pending.remove(job);
    const need = job.request;
    const have = held.get(job.user) ?? NOTHING;
    const limit = limitFor(limits, job.user);
    const reservation = userReserved.get(job.user);

    const arrayLimit = job.array?.limit;
    if (arrayLimit !== undefined && (arrayHeld.get(job.id) ?? 0) >= arrayLimit) {
      // Like a user limit, only the array's own tasks ending helps it: it reserves nothing.
      const detail = `array ${job.id} runs at most ${arrayLimit} tasks at once (%${arrayLimit})`;
      outcomes.push({ kind: 'array-limit', job, detail });
      continue;
    }
    const over = overLimit(need, have, reservation?.amounts ?? NOTHING, limit);
    // A guarded job held back only by its own user's limit gains nothing from the front of the
    // queue (only the user's own jobs ending helps it), so the guard passes to the next oldest.
    if (guarded && over.length === 0) guard.done = true;
    if (over.length > 0) {
      // The first of the user's jobs held back by the limit keeps the headroom it still needs, so
      // the user's later, smaller jobs cannot keep it out of the limit forever.
      if (reservation === undefined) {
        userReserved.set(job.user, { amounts: headroomFor(need, have, limit), forJob: job.id });
      }
      outcomes.push({
        kind: 'user-limit',
        job,
        detail: limitDetail(job, over, have, limit, reservation),
      });
      continue;
    }

    const holdback = holdbackOf(job);
    const usable = subtract(free(), holdback.amounts);
    const available = subtract(usable, headReserved);
    // Backfill on the head's reservation: only a job sure to be gone before the head can start.
    const backfills = head !== undefined && fits(need, usable) && endsBy(job, headStartMs);
    if (fits(need, available) || backfills) {
      grantNow(job, holdback);
      continue;
    }

    if (head === undefined) {
      // The head reserves, of each resource, what it needs and is free now; what frees up later
      // is added on the next plan, so its reservation only grows until it fits.
      head = job;
      headReserved = minimum(need, nonNegative(usable));
      headStartMs = earliestStartMs(need, nonNegative(usable), holders, now);
      const previous = userReserved.get(job.user);
      userReserved.set(job.user, {
        amounts: add(previous?.amounts ?? NOTHING, need),
        forJob: previous?.forJob ?? job.id,
      });
      const missing = withBusy(
        withBookings(shortfall(need, nonNegative(usable)), holdback),
        need,
        usable,
      );
      outcomes.push({ kind: 'head', job, shortfall: missing });
      continue;
    }
    const missing = withBusy(
      withBookings(shortfall(need, nonNegative(usable)), holdback),
      need,
      usable,
    );
    outcomes.push({ kind: 'waiting', job, shortfall: missing, head });
  }
  return { outcomes, head };
}

/** Resources held by a job, and when it will have given them back at the latest (epoch ms). */
interface Holder {
  amounts: Amounts;
  endMs: number;
}

/**
 * The earliest time at which `need` is sure to fit: now if it fits in what is free, else the end
 * of the holder whose release makes it fit, taking holders in the order they end. Infinity when
 * only the end of a job without a time limit would make it fit.
 */
export function earliestStartMs(
  need: ResourceRequest,
  free: Amounts,
  holders: readonly Holder[],
  now: Date,
): number {
  let available = free;
  if (fits(need, available)) return now.getTime();
  for (const holder of [...holders].sort((a, b) => a.endMs - b.endMs)) {
    if (holder.endMs === Infinity) return Infinity;
    available = add(available, holder.amounts);
    if (fits(need, available)) return holder.endMs;
  }
  return Infinity;
}

/**
 * The admitted queued jobs not yet considered by a walk: in seq order overall, and per user, so
 * that picking the next job costs a look at each user rather than at every job (a queue of
 * thousands of array tasks is walked on every grant).
 */
class PendingJobs {
  private readonly all: JobEntry[];
  private readonly byUser = new Map<string, { jobs: JobEntry[]; next: number }>();
  private readonly done = new Set<JobEntry>();
  /** The first index of `all` that may still be pending. */
  private oldest = 0;
  size: number;

  constructor(sortedBySeq: JobEntry[]) {
    this.all = sortedBySeq;
    this.size = sortedBySeq.length;
    for (const job of sortedBySeq) {
      const queue = this.byUser.get(job.user) ?? { jobs: [], next: 0 };
      queue.jobs.push(job);
      this.byUser.set(job.user, queue);
    }
  }

  remove(job: JobEntry): void {
    if (this.done.has(job)) return;
    this.done.add(job);
    this.size -= 1;
  }

  /** In seq order: the first pending job for which `test` holds. */
  find(test: (job: JobEntry) => boolean): JobEntry | undefined {
    while (this.oldest < this.all.length && this.done.has(this.all[this.oldest] as JobEntry)) {
      this.oldest += 1;
    }
    for (let i = this.oldest; i < this.all.length; i += 1) {
      const job = this.all[i] as JobEntry;
      if (!this.done.has(job) && test(job)) return job;
    }
    return undefined;
  }

  /** Each user's pending job with the lowest seq. */
  *firstOfEachUser(): Generator<JobEntry> {
    for (const queue of this.byUser.values()) {
      while (queue.next < queue.jobs.length && this.done.has(queue.jobs[queue.next] as JobEntry)) {
        queue.next += 1;
      }
      const first = queue.jobs[queue.next];
      if (first !== undefined) yield first;
    }
  }
}

/**
 * The job to consider next. The oldest job past the starvation guard comes first; otherwise the
 * job of the user with the smallest dominant share, ties by seq (a user's own jobs in seq order).
 */
function nextJob(
  pending: PendingJobs,
  held: ReadonlyMap<string, Amounts>,
  total: Amounts,
  now: Date,
  policy: SchedulerPolicy,
  guard: { done: boolean },
): { job: JobEntry; guarded: boolean } {
  // Only one job is moved to the front per walk: that is enough for every job to be served in
  // turn, and it leaves the fair order alone for all the others.
  if (!guard.done) {
    const starving = pending.find((job) => waitedMs(job, now) >= policy.starvationGuardMs);
    if (starving !== undefined) return { job: starving, guarded: true };
    guard.done = true;
  }
  let best: JobEntry | undefined;
  let bestShare = Infinity;
  for (const job of pending.firstOfEachUser()) {
    const share = dominantShare(held.get(job.user) ?? NOTHING, total);
    if (best === undefined || share < bestShare || (share === bestShare && job.seq < best.seq)) {
      best = job;
      bestShare = share;
    }
  }
  if (best === undefined) throw new Error('nextJob called with no pending jobs');
  return { job: best, guarded: false };
}

function waitedMs(job: JobEntry, now: Date): number {
  const submitted = Date.parse(job.submittedAt);
  // An unreadable timestamp never triggers the guard rather than always triggering it.
  return Number.isNaN(submitted) ? -Infinity : now.getTime() - submitted;
}

const NO_HOLDBACK: Holdback = { amounts: NOTHING, gpuIds: new Set(), bookings: [] };

function bySeq(a: JobEntry, b: JobEntry): number {
  return a.seq - b.seq;
}

/** "user limit: 4 GPUs (alice holds 3)" for each resource the limit holds the job back on. */
function limitDetail(
  job: JobEntry,
  over: readonly ResourceKind[],
  have: Amounts,
  limit: ResourceLimit,
  reservation: UserReservation | undefined,
): string {
  const parts = over.map((kind) => {
    const kept = reservation?.amounts[kind] ?? 0;
    const keptText =
      kept > 0 && reservation !== undefined
        ? `, ${amountText(kind, kept)} kept for job ${reservation.forJob}`
        : '';
    return `${formatAmount(kind, limit[kind] ?? 0)} (${job.user} holds ${amountText(kind, have[kind])}${keptText})`;
  });
  return `user limit: ${parts.join(', ')}`;
}

/** The shortfall, and the bookings that keep resources from the job, for people. */
function withBookings(missing: string, holdback: Holdback): string {
  if (holdback.bookings.length === 0) return missing;
  const kept = holdback.bookings
    .map(
      (booking) =>
        `${booking.id} of ${booking.user} from ${formatLocalTime(booking.start)} to ${formatLocalTime(booking.end)}`,
    )
    .join(', ');
  return `${missing}${missing === '' ? '' : '; '}kept for booking ${kept}`;
}
