/**
 * Bookings (`rp book`): resources kept for one user over a window of time, decided in the ledger
 * under the same lock as the queue. Pure: making, refusing and cancelling a booking, and the
 * window arithmetic they need.
 *
 * A booking is accepted only if, at every moment of its window, the host's capacity less the
 * other bookings covers it, and it keeps to the host's booking rules (how far ahead, how long, how
 * many, aligned to which minutes). What the scheduler does with bookings is in
 * booking-reservations.ts.
 */
import { formatLocalTime } from './dates.js';
import { formatSeconds } from './durations.js';
import { ConfigError, UsageError } from './errors.js';
import {
  bookingAllowanceFor,
  bookingRulesOf,
  type BookingRules,
  type HostCapacity,
  type UserLimits,
} from './host-config.js';
import {
  toBookingRecord,
  type Booking,
  type LedgerState,
  type ResourceRequest,
} from './ledger-state.js';
import type { Transition } from './queue-transitions.js';
import { checkAdmission } from './admission.js';
import { formatAmount, formatIdRanges, RESOURCE_KINDS, type ResourceKind } from './units.js';

const MINUTE_MS = 60_000;

/** A booking asked for: the window is already read from the flags. */
export interface NewBooking {
  user: string;
  uid: number;
  start: Date;
  end: Date;
  request: ResourceRequest;
  gpuIds?: number[];
}

/** The same instant if on a whole minute, else the next whole minute (`+60s` → next minute). */
export function roundUpToMinute(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / MINUTE_MS) * MINUTE_MS);
}

export function isActive(booking: Pick<Booking, 'start' | 'end'>, now: Date): boolean {
  const t = now.getTime();
  return Date.parse(booking.start) <= t && t < Date.parse(booking.end);
}

/** Whether two windows share a moment (ends are open: 9-10 and 10-11 do not overlap). */
export function overlaps(
  a: { start: number; end: number },
  b: { start: number; end: number },
): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Bookings that have not ended by `now`, by start. */
export function currentBookings(state: Pick<LedgerState, 'bookings'>, now: Date): Booking[] {
  return (state.bookings ?? [])
    .filter((booking) => Date.parse(booking.end) > now.getTime())
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
}

/**
 * Adds a booking to the ledger, or throws: UsageError for a window that is not one (an end before
 * its start, a start in the past), ConfigError for what the host's rules or capacity refuse,
 * naming the rule, or the first conflicting time and who holds it.
 */
export function addBooking(
  state: LedgerState,
  request: NewBooking,
  capacity: HostCapacity,
  limits: UserLimits,
  now: Date,
  randomInt: (maxExclusive: number) => number,
): Transition<Booking> {
  const rules = bookingRulesOf(limits);
  const start = request.start.getTime();
  const end = request.end.getTime();
  checkWindow(start, end, now, rules, request.user);
  checkAmounts(request, capacity, limits);
  const others = (state.bookings ?? []).filter((booking) => Date.parse(booking.end) > start);
  const mine = (state.bookings ?? []).filter(
    (booking) => booking.user === request.user && Date.parse(booking.end) > now.getTime(),
  );
  const allowance = bookingAllowanceFor(rules, request.user);
  if (mine.length >= allowance.maxActivePerUser) {
    throw new ConfigError(
      `${request.user} already holds ${mine.length} upcoming or active booking${mine.length === 1 ? '' : 's'}, ` +
        `the most this host allows (bookings.maxActivePerUser: ${allowance.maxActivePerUser})`,
      { hint: 'cancel one with "rp book --cancel ID"; "rp bookings" lists them' },
    );
  }
  const conflict = firstConflict({ start, end }, request, others, capacity);
  if (conflict !== undefined) {
    throw new ConfigError(conflict, {
      hint: 'book less, or another time; "rp bookings --all" shows what is booked when',
    });
  }
  const id = bookingId(new Set((state.bookings ?? []).map((booking) => booking.id)), randomInt);
  const booking: Booking = {
    id,
    user: request.user,
    uid: request.uid,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    request: { ...request.request },
    ...(request.gpuIds === undefined ? {} : { gpuIds: [...request.gpuIds].sort((a, b) => a - b) }),
    createdAt: now.toISOString(),
  };
  const bookings = [...(state.bookings ?? []), booking].sort(
    (a, b) => Date.parse(a.start) - Date.parse(b.start),
  );
  return { state: { ...state, bookings }, result: booking };
}

function checkWindow(
  start: number,
  end: number,
  now: Date,
  rules: BookingRules,
  user: string,
): void {
  if (start % MINUTE_MS !== 0 || end % MINUTE_MS !== 0) {
    throw new UsageError('a booking starts and ends on a whole minute');
  }
  if (end <= start) {
    throw new UsageError('the booking ends before it starts', {
      hint: 'give a --duration above 0',
    });
  }
  if (start < roundUpToMinute(now).getTime()) {
    throw new UsageError(
      `the booking would start in the past (${formatLocalTime(new Date(start))})`,
      {
        hint: 'give a --start from now on: now, +30m, or a date and time',
      },
    );
  }
  const align = rules.alignMinutes;
  if (minuteOfDay(start) % align !== 0 || minuteOfDay(end) % align !== 0) {
    throw new ConfigError(
      `this host takes bookings that start and end on multiples of ${align} minutes past the hour ` +
        `(bookings.alignMinutes: ${align})`,
      { hint: align === 30 ? 'start and end on :00 or :30' : `round to ${align} minutes` },
    );
  }
  const allowance = bookingAllowanceFor(rules, user);
  const aheadMs = allowance.maxAheadDays * 86_400_000;
  if (start - now.getTime() > aheadMs) {
    throw new ConfigError(
      `the booking starts more than ${allowance.maxAheadDays} days ahead (bookings.maxAheadDays)`,
      { hint: 'book closer to the time' },
    );
  }
  if (end - start > allowance.maxHours * 3_600_000) {
    throw new ConfigError(
      `the booking lasts ${formatSeconds((end - start) / 1000)}, longer than the ${allowance.maxHours} ` +
        `hours this host allows ${user} (bookings.maxHours)`,
      { hint: 'book a shorter window, or several' },
    );
  }
}

/** Minutes past local midnight: what `alignMinutes` counts (:00 and :30 are local times). */
function minuteOfDay(ms: number): number {
  const at = new Date(ms);
  return at.getHours() * 60 + at.getMinutes();
}

function checkAmounts(request: NewBooking, capacity: HostCapacity, limits: UserLimits): void {
  const { gpus, cpus, memoryMb } = request.request;
  if (gpus === 0 && cpus === 0 && memoryMb === 0) {
    throw new UsageError('the booking books nothing', { hint: 'give --gpu, --cpu or --mem' });
  }
  // What one user may hold at once bounds what they may book; a booking of cores only is fine.
  const asJob = { gpus, cpus: Math.max(cpus, 1), memoryMb: Math.max(memoryMb, 1) };
  const admission = checkAdmission(asJob, request.user, capacity, limits);
  if (!admission.ok) {
    const ErrorType = admission.refusal === 'invalid' ? UsageError : ConfigError;
    throw new ErrorType(admission.reason.replaceAll('the request', 'the booking'));
  }
  const ids = request.gpuIds;
  if (ids === undefined) return;
  const known = new Set(capacity.gpus.map((gpu) => gpu.index));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new UsageError(`--gpu-ids: this host has no GPU ${formatIdRanges(unknown)}`, {
      hint: `its GPUs are ${formatIdRanges([...known]) || 'none'}`,
    });
  }
  if (new Set(ids).size !== ids.length || ids.length !== gpus) {
    throw new UsageError('--gpu-ids must name as many different GPUs as --gpu asks for');
  }
}

/**
 * The first moment of `window` at which `request` does not fit beside the bookings overlapping
 * it, as a sentence naming the moment, the resource and who holds it; undefined when it fits
 * throughout. The booked total only changes where a booking starts, so those moments (and the
 * window's start) are all that need checking.
 */
function firstConflict(
  window: { start: number; end: number },
  request: NewBooking,
  bookings: readonly Booking[],
  capacity: HostCapacity,
): string | undefined {
  const overlapping = bookings.filter((booking) =>
    overlaps(window, { start: Date.parse(booking.start), end: Date.parse(booking.end) }),
  );
  const moments = [
    window.start,
    ...overlapping.map((booking) => Date.parse(booking.start)).filter((t) => t > window.start),
  ].sort((a, b) => a - b);
  const total: Record<ResourceKind, number> = {
    gpus: capacity.gpus.length,
    cpus: capacity.cpus.length,
    memoryMb: capacity.memoryMb,
  };
  for (const t of moments) {
    const held = overlapping.filter(
      (booking) => Date.parse(booking.start) <= t && t < Date.parse(booking.end),
    );
    for (const kind of RESOURCE_KINDS) {
      const booked = held.reduce((sum, booking) => sum + booking.request[kind], 0);
      if (booked + request.request[kind] > total[kind]) {
        return (
          `at ${formatLocalTime(new Date(t))} ${formatAmount(kind, booked)} of ${formatAmount(kind, total[kind])} ` +
          `are booked (${holders(held, kind)}); this booking needs ${formatAmount(kind, request.request[kind])} more`
        );
      }
    }
    const wanted = new Set(request.gpuIds ?? []);
    const taken = held.find((booking) => (booking.gpuIds ?? []).some((id) => wanted.has(id)));
    if (taken !== undefined) {
      const both = (taken.gpuIds ?? []).filter((id) => wanted.has(id));
      return `at ${formatLocalTime(new Date(t))} GPU ${formatIdRanges(both)} is booked by ${taken.user} (${taken.id})`;
    }
  }
  return undefined;
}

function holders(bookings: readonly Booking[], kind: ResourceKind): string {
  return bookings
    .filter((booking) => booking.request[kind] > 0)
    .map(
      (booking) => `${booking.user} ${formatAmount(kind, booking.request[kind])} in ${booking.id}`,
    )
    .join(', ');
}

/** "b" and four digits not used by any booking in the ledger. */
function bookingId(used: ReadonlySet<string>, randomInt: (maxExclusive: number) => number): string {
  const start = randomInt(9000);
  for (let step = 0; step < 9000; step += 1) {
    const id = `b${1000 + ((start + step) % 9000)}`;
    if (!used.has(id)) return id;
  }
  throw new ConfigError('the ledger holds 9000 bookings: no booking id is free');
}

/**
 * Removes booking `id` (with or without its "b"). Only its own user (by uid: names can be
 * reused, uids are who the jobs run as), or root, may; a booking that has ended cannot be.
 */
export function cancelBooking(
  state: LedgerState,
  id: string,
  caller: { uid: number; isRoot: boolean },
  now: Date,
): Transition<Booking> {
  const wanted = id.startsWith('b') ? id : `b${id}`;
  const booking = currentBookings(state, now).find((entry) => entry.id === wanted);
  if (booking === undefined) {
    throw new UsageError(`there is no booking ${wanted}`, {
      hint: '"rp bookings" lists yours, "rp bookings --all" everyone\'s',
    });
  }
  if (booking.uid !== caller.uid && !caller.isRoot) {
    throw new UsageError(`booking ${wanted} is ${booking.user}'s: only they or root may cancel it`);
  }
  const bookings = (state.bookings ?? []).filter((entry) => entry !== booking);
  const next: LedgerState = { ...state, bookings };
  if (bookings.length === 0) delete next.bookings;
  const record = toBookingRecord(booking, 'cancelled', now.toISOString());
  return { state: next, result: booking, bookingHistory: [record] };
}
