/**
 * How the scheduler honours bookings (pure; see src/core/bookings.ts for making them):
 *
 * - A booking guarantees its resources. Another user's job may start on resources booked for
 *   later only if it is sure to be gone by the booking's start (its time limit plus the kill
 *   wait); a job without a time limit never starts on them. During the booking, nobody else's
 *   job starts on them at all.
 * - What the booker already holds counts towards the booking: only the rest is held back.
 * - During the booking, the booker's jobs that fit in what is left of it take it ahead of the
 *   queue, and run at most until the booking's end plus `overrunMinutes`.
 * - A booking none of whose user's jobs has held resources `idleReleaseMinutes` after its start is
 *   released; a booking that has ended leaves the ledger.
 */
import type { BookingRules, HostCapacity } from './host-config.js';
import type { Booking, JobEntry, LedgerState, ResourceRequest } from './ledger-state.js';
import { latestEndMs } from './time-limits.js';
import { RESOURCE_KINDS, type ResourceKind } from './units.js';

type Amounts = Record<ResourceKind, number>;

const NOTHING: Amounts = { gpus: 0, cpus: 0, memoryMb: 0 };
const MINUTE_MS = 60_000;

/** What a job must leave alone of what is free: amounts, and specific GPUs. */
export interface Holdback {
  amounts: Amounts;
  gpuIds: ReadonlySet<number>;
  /** The bookings held back for, for people ("kept for booking b1234 of bob ..."). */
  bookings: readonly Booking[];
}

/** Bookings as the scheduler reads them, with what their users hold counted against them. */
export class BookingLedger {
  private readonly bookings: Array<{ booking: Booking; start: number; end: number }>;

  constructor(
    bookings: readonly Booking[],
    private readonly now: Date,
    private readonly killWaitSeconds: number,
    /** Per user, what they hold and until when at the latest, updated as the plan grants. */
    private readonly holdings: Map<string, Array<{ amounts: Amounts; endMs: number }>>,
  ) {
    const t = now.getTime();
    this.bookings = bookings
      .map((booking) => ({
        booking,
        start: Date.parse(booking.start),
        end: Date.parse(booking.end),
      }))
      .filter((entry) => entry.end > t);
  }

  /** Whether there is any booking to honour. */
  get empty(): boolean {
    return this.bookings.length === 0;
  }

  /** Records resources granted by the plan, so later jobs see them held. */
  hold(user: string, amounts: Amounts, endMs: number): void {
    const list = this.holdings.get(user) ?? [];
    list.push({ amounts, endMs });
    this.holdings.set(user, list);
  }

  /** The bookings active now, by start. */
  active(): Booking[] {
    const t = this.now.getTime();
    return this.bookings
      .filter((entry) => entry.start <= t)
      .sort((a, b) => a.start - b.start)
      .map((entry) => entry.booking);
  }

  /**
   * What `job` must leave alone: of every other user's booking that is active, or that starts
   * before the job is sure to be gone, the part its user does not hold yet.
   */
  holdbackFor(job: Pick<JobEntry, 'user' | 'timeLimit' | 'deadline'>): Holdback {
    let amounts: Amounts = NOTHING;
    const gpuIds = new Set<number>();
    const by: Booking[] = [];
    const jobEnd = latestEndMs(job, this.now, this.killWaitSeconds);
    for (const entry of this.bookings) {
      if (entry.booking.user === job.user) continue;
      const applies = entry.start <= this.now.getTime() || jobEnd > entry.start;
      if (!applies) continue;
      const left = this.unheld(entry.booking, entry.start);
      if (RESOURCE_KINDS.some((kind) => left[kind] > 0)) by.push(entry.booking);
      if (entry.booking.gpuIds !== undefined) {
        // Specific GPUs: those ids stay free, whoever else would pick them.
        entry.booking.gpuIds.forEach((id) => gpuIds.add(id));
        amounts = add(amounts, { ...left, gpus: 0 });
      } else {
        amounts = add(amounts, left);
      }
    }
    return { amounts, gpuIds, bookings: by };
  }

  /**
   * The booker's active booking that `job` fits in (what is left of it), if any: such a job
   * takes the booking's resources ahead of the queue.
   */
  bookingFor(job: Pick<JobEntry, 'user' | 'request'>): Booking | undefined {
    return this.active().find(
      (booking) =>
        booking.user === job.user &&
        fitsBooked(job.request, booking.request, this.unheld(booking, Date.parse(booking.start))),
    );
  }

  /**
   * Of what `booking` asks, the part its user does not hold yet: holdings that will still be
   * held when it starts count towards it.
   */
  private unheld(booking: Booking, start: number): Amounts {
    const held = (this.holdings.get(booking.user) ?? [])
      .filter((holding) => holding.endMs > start)
      .reduce((sum, holding) => add(sum, holding.amounts), NOTHING);
    const left = { ...NOTHING };
    for (const kind of RESOURCE_KINDS) left[kind] = Math.max(0, booking.request[kind] - held[kind]);
    return left;
  }
}

/** When a job granted in `booking` must end at the latest: its end plus the overrun. */
export function bookingUntil(booking: Booking, rules: BookingRules): string {
  return new Date(Date.parse(booking.end) + rules.overrunMinutes * MINUTE_MS).toISOString();
}

/**
 * The ledger's bookings kept up to date at `now`: an active booking whose user holds resources
 * is marked used; one still unused `idleReleaseMinutes` after its start is released; one that has
 * ended leaves. Returns the same state object when nothing changes, and what was released.
 */
export function tendBookings(
  state: LedgerState,
  rules: BookingRules,
  now: Date,
): { state: LedgerState; released: Booking[]; ended: Booking[] } {
  const bookings = state.bookings;
  if (bookings === undefined || bookings.length === 0) return { state, released: [], ended: [] };
  const t = now.getTime();
  const holders = new Set(
    state.jobs.filter((job) => job.state !== 'queued').map((job) => job.user),
  );
  const released: Booking[] = [];
  const ended: Booking[] = [];
  let changed = false;
  const kept: Booking[] = [];
  for (const booking of bookings) {
    const start = Date.parse(booking.start);
    if (Date.parse(booking.end) <= t) {
      ended.push(booking);
      changed = true;
      continue;
    }
    if (start > t) {
      kept.push(booking);
      continue;
    }
    if (booking.usedAt === undefined && holders.has(booking.user)) {
      kept.push({ ...booking, usedAt: now.toISOString() });
      changed = true;
      continue;
    }
    if (booking.usedAt === undefined && t >= start + rules.idleReleaseMinutes * MINUTE_MS) {
      released.push(booking);
      changed = true;
      continue;
    }
    kept.push(booking);
  }
  if (!changed) return { state, released, ended };
  const next: LedgerState = { ...state, bookings: kept };
  if (kept.length === 0) delete next.bookings;
  return { state: next, released, ended };
}

/**
 * Preemption: when an active booking's user lacks what it booked and what is free does not cover
 * it, other users' running `--preemptible` jobs are marked preempted, the newest first, until it
 * would (and every one holding a GPU the booking names). A marked job's deadline becomes `now`,
 * so it is stopped as a job past its time limit is (SIGTERM, then SIGKILL after the kill wait),
 * by its supervisor or any rp command's reaping pass; it ends as 'preempted'. Jobs already marked
 * count as free. Returns the same state object when nobody is marked.
 */
export function preemptForBookings(
  state: LedgerState,
  capacity: HostCapacity,
  now: Date,
): LedgerState {
  const active = (state.bookings ?? []).filter((booking) => isActiveAt(booking, now));
  if (active.length === 0 || !state.jobs.some((job) => job.preemptible)) return state;
  const holding = state.jobs.filter((job) => job.state !== 'queued' && job.grant !== undefined);
  const amountsOf = (job: JobEntry): Amounts => ({
    gpus: job.grant?.gpus.length ?? 0,
    cpus: job.grant?.cpus.length ?? 0,
    memoryMb: job.grant?.memoryMb ?? 0,
  });
  const marked = new Map<JobEntry, string>();
  let free: Amounts = {
    gpus: capacity.gpus.length,
    cpus: capacity.cpus.length,
    memoryMb: capacity.memoryMb,
  };
  for (const job of holding) {
    if (job.preempted === undefined) free = subtract(free, amountsOf(job));
  }
  for (const booking of active) {
    const held = holding
      .filter((job) => job.user === booking.user)
      .reduce((sum, job) => add(sum, amountsOf(job)), NOTHING);
    const named = new Set(booking.gpuIds ?? []);
    const candidates = holding
      .filter(
        (job) =>
          job.preemptible === true &&
          job.preempted === undefined &&
          job.state === 'running' &&
          job.user !== booking.user &&
          !marked.has(job),
      )
      .sort(
        (a, b) => Date.parse(b.startedAt ?? '') - Date.parse(a.startedAt ?? '') || b.seq - a.seq,
      );
    const short = (): boolean =>
      RESOURCE_KINDS.some((kind) => booking.request[kind] - held[kind] > free[kind]);
    for (const job of candidates) {
      const onNamedGpu = (job.grant?.gpus ?? []).some((id) => named.has(id));
      if (!onNamedGpu && !short()) continue;
      marked.set(job, booking.id);
      free = add(free, amountsOf(job));
    }
  }
  if (marked.size === 0) return state;
  const at = now.toISOString();
  return {
    ...state,
    jobs: state.jobs.map((job) => {
      const booking = marked.get(job);
      if (booking === undefined) return job;
      const deadline =
        job.deadline !== undefined && Date.parse(job.deadline) < now.getTime() ? job.deadline : at;
      return { ...job, preempted: { at, booking }, deadline };
    }),
  };
}

/**
 * Marks the active bookings whose user holds resources (now, after a plan's grants) as used, so
 * they are never released as idle. Returns the same state object when nothing changes.
 */
export function markBookingsUsed(state: LedgerState, now: Date): LedgerState {
  const bookings = state.bookings;
  if (bookings === undefined) return state;
  const holders = new Set(
    state.jobs.filter((job) => job.state !== 'queued').map((job) => job.user),
  );
  let changed = false;
  const marked = bookings.map((booking) => {
    if (booking.usedAt !== undefined || !isActiveAt(booking, now) || !holders.has(booking.user)) {
      return booking;
    }
    changed = true;
    return { ...booking, usedAt: now.toISOString() };
  });
  return changed ? { ...state, bookings: marked } : state;
}

function isActiveAt(booking: Booking, now: Date): boolean {
  const t = now.getTime();
  return Date.parse(booking.start) <= t && t < Date.parse(booking.end);
}

function subtract(a: Amounts, b: Amounts): Amounts {
  return { gpus: a.gpus - b.gpus, cpus: a.cpus - b.cpus, memoryMb: a.memoryMb - b.memoryMb };
}

function add(a: Amounts, b: ResourceRequest): Amounts {
  return { gpus: a.gpus + b.gpus, cpus: a.cpus + b.cpus, memoryMb: a.memoryMb + b.memoryMb };
}

/** Whether `need` fits in what is left of a booking, in the kinds it books (the rest is free). */
function fitsBooked(need: ResourceRequest, booked: ResourceRequest, left: Amounts): boolean {
  return RESOURCE_KINDS.every((kind) => booked[kind] === 0 || need[kind] <= left[kind]);
}
