/**
 * `rp book` and `rp bookings`: making, importing, cancelling and listing bookings. Every change is
 * one ledger transaction deciding with src/core/bookings.ts under the host's policy read under
 * the lock; an import of many rows is one transaction too, so either every row is booked or none.
 * None of this asks Docker anything.
 */
import { readFile } from 'node:fs/promises';
import createDebug from 'debug';
import { bookingObstacles, type BookingObstacle } from '../core/booking-notes.js';
import { parseBookingCsv, type CsvBookingRow } from '../core/booking-csv.js';
import { addBooking, cancelBooking, currentBookings, type NewBooking } from '../core/bookings.js';
import { RpError, UsageError } from '../core/errors.js';
import type { Booking, LedgerState } from '../core/ledger-state.js';
import type { HostPolicy } from '../core/queue-transitions.js';
import { killWaitOf } from '../core/time-limits.js';
import { systemRandomInt } from '../host/ids.js';
import type { HostSession } from './host-session.js';

const debug = createDebug('rp:book');

/** One booking as `rp book --json` and `rp bookings --json` print it (ISO times, MiB). */
export interface BookingView {
  id: string;
  user: string;
  start: string;
  end: string;
  gpus: number;
  /** Only when it books specific GPUs. */
  gpuIds?: number[];
  cpus: number;
  memoryMb: number;
}

/** A booking just made, and the running jobs that may still hold what it needs when it starts. */
export interface MadeBooking {
  booking: BookingView;
  obstacles: BookingObstacle[];
}

/** Who asks: their own bookings, or anyone's for root. */
export interface BookingCaller {
  name: string;
  uid: number;
}

/** What the booking services need of a host session (a HostSession fits). */
export type BookingSession = Pick<HostSession, 'transact' | 'store'>;

export interface BookingOptions {
  /** The instant the request was read at; the same one decides. */
  now: Date;
  randomInt?: (maxExclusive: number) => number;
}

export function bookingView(booking: Booking): BookingView {
  return {
    id: booking.id,
    user: booking.user,
    start: booking.start,
    end: booking.end,
    gpus: booking.request.gpus,
    ...(booking.gpuIds === undefined ? {} : { gpuIds: [...booking.gpuIds] }),
    cpus: booking.request.cpus,
    memoryMb: booking.request.memoryMb,
  };
}

export async function makeBooking(
  session: BookingSession,
  request: NewBooking,
  options: BookingOptions,
): Promise<MadeBooking> {
  const [made] = await session.transact((state, policy) =>
    addAll(state, [request], policy, options),
  );
  if (made === undefined) throw new Error('a booking transaction returned no booking');
  debug('booked %s for %s', made.booking.id, made.booking.user);
  return made;
}

export interface ImportOptions extends BookingOptions {
  /** The file, as named in errors. */
  file: string;
  caller: BookingCaller & { isRoot: boolean };
  /** The uid of another user, for root's imports; undefined when there is no such user. */
  uidOf: (name: string) => Promise<number | undefined>;
}

/**
 * Books every row, or none: a row the host refuses fails the whole import, naming the file and
 * the row. A user imports their own bookings; root imports anyone's.
 */
export async function importBookings(
  session: BookingSession,
  rows: readonly CsvBookingRow[],
  options: ImportOptions,
): Promise<MadeBooking[]> {
  const requests: NewBooking[] = [];
  const uids = new Map<string, number>();
  for (const row of rows) {
    const uid = uids.get(row.user) ?? (await uidFor(row, options));
    uids.set(row.user, uid);
    requests.push({
      user: row.user,
      uid,
      start: row.start,
      end: row.end,
      request: row.request,
      ...(row.gpuIds === undefined ? {} : { gpuIds: row.gpuIds }),
    });
  }
  const made = await session.transact((state, policy) =>
    addAll(state, requests, policy, options, (index, error) =>
      atRow(error, `${options.file} row ${rows[index]?.row ?? index + 2}`),
    ),
  );
  debug('imported %d bookings from %s', made.length, options.file);
  return made;
}

async function uidFor(row: CsvBookingRow, options: ImportOptions): Promise<number> {
  const { caller, file } = options;
  if (row.user === caller.name) return caller.uid;
  if (!caller.isRoot) {
    throw new UsageError(
      `${file} row ${row.row}: user_id ${row.user} is not you (${caller.name})`,
      {
        hint: "you may import only your own bookings; root imports anyone's",
      },
    );
  }
  const uid = await options.uidOf(row.user);
  if (uid === undefined) {
    throw new UsageError(`${file} row ${row.row}: user_id ${row.user} is no user of this host`, {
      hint: 'user_id is a user name, as "id -u NAME" knows it',
    });
  }
  return uid;
}

/** Each request in turn, each seeing the ones before it; the first refusal refuses them all. */
function addAll(
  state: LedgerState,
  requests: readonly NewBooking[],
  policy: HostPolicy,
  options: BookingOptions,
  where: (index: number, error: unknown) => unknown = (_index, error) => error,
): { state: LedgerState; result: MadeBooking[] } {
  const randomInt = options.randomInt ?? systemRandomInt;
  const killWait = killWaitOf(policy.limits);
  let next = state;
  const made: MadeBooking[] = [];
  requests.forEach((request, index) => {
    try {
      const added = addBooking(
        next,
        request,
        policy.capacity,
        policy.limits,
        options.now,
        randomInt,
      );
      next = added.state;
      const obstacles = bookingObstacles(
        next.jobs,
        added.result,
        policy.capacity,
        options.now,
        killWait,
      );
      made.push({ booking: bookingView(added.result), obstacles });
    } catch (error) {
      throw where(index, error);
    }
  });
  return { state: next, result: made };
}

/** The same error, its message prefixed with where in the file it was found. */
function atRow(error: unknown, where: string): unknown {
  if (!(error instanceof RpError)) return error;
  const ErrorType = error.constructor as new (
    message: string,
    options: { hint?: string; cause?: unknown },
  ) => RpError;
  return new ErrorType(`${where}: ${error.message}`, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    cause: error,
  });
}

export async function cancelBookingOf(
  session: BookingSession,
  id: string,
  caller: BookingCaller & { isRoot: boolean },
  now: Date,
): Promise<BookingView> {
  const cancelled = await session.transact((state) =>
    cancelBooking(state, id, { uid: caller.uid, isRoot: caller.isRoot }, now),
  );
  debug('cancelled %s of %s', cancelled.id, cancelled.user);
  return bookingView(cancelled);
}

export interface BookingListing {
  /** Only this user's; undefined: everyone's. */
  user?: string;
  now: Date;
}

/** Upcoming and active bookings, by start. A listing takes no lock. */
export async function listBookings(
  session: Pick<BookingSession, 'store'>,
  listing: BookingListing,
): Promise<BookingView[]> {
  const state = await session.store.read();
  return currentBookings(state, listing.now)
    .filter((booking) => listing.user === undefined || booking.user === listing.user)
    .map(bookingView);
}

/** `rp book --import FILE`: reads the CSV and books every row of it, or none. */
export async function importBookingFile(
  session: BookingSession,
  options: ImportOptions,
): Promise<MadeBooking[]> {
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new UsageError(`--import: cannot read ${options.file}: ${why ?? String(error)}`, {
      hint: 'give the path of a CSV file, as "rp bookings --export csv" writes',
      cause: error,
    });
  }
  return importBookings(session, parseBookingCsv(text, options.file, options.now), options);
}
