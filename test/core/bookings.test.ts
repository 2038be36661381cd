import { describe, expect, it } from 'vitest';
import {
  addBooking,
  cancelBooking,
  currentBookings,
  isActive,
  roundUpToMinute,
  type NewBooking,
} from '../../src/core/bookings.js';
import { formatLocalTime } from '../../src/core/dates.js';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import {
  DEFAULT_BOOKING_RULES,
  type HostCapacity,
  type UserLimits,
} from '../../src/core/host-config.js';
import { emptyLedger, type LedgerState } from '../../src/core/ledger-state.js';

const GB = 1024;
const HOUR = 3_600_000;
// A whole hour in local time, so alignment is the same in every time zone the tests run in.
const NOW = new Date(2026, 11, 2, 12, 0, 0);
const NO_LIMITS: UserLimits = { default: {}, users: {} };
const CAPACITY: HostCapacity = {
  gpus: [0, 1, 2, 3].map((index) => ({ index })),
  cpus: [0, 1, 2, 3, 4, 5, 6, 7],
  memoryMb: 64 * GB,
};

function at(hoursFromNow: number): Date {
  return new Date(NOW.getTime() + hoursFromNow * HOUR);
}

function request(overrides: Partial<NewBooking> = {}): NewBooking {
  return {
    user: 'alice',
    uid: 1000,
    start: at(1),
    end: at(3),
    request: { gpus: 2, cpus: 4, memoryMb: 16 * GB },
    ...overrides,
  };
}

/** Books in turn, as the ledger would; returns the ledger after. */
function book(state: LedgerState, wanted: NewBooking, limits: UserLimits = NO_LIMITS): LedgerState {
  return addBooking(state, wanted, CAPACITY, limits, NOW, () => state.bookings?.length ?? 0).state;
}

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('window arithmetic', () => {
  it('rounds a start given in seconds up to the next whole minute', () => {
    expect(roundUpToMinute(new Date('2026-12-02T12:00:01Z')).toISOString()).toBe(
      '2026-12-02T12:01:00.000Z',
    );
    expect(roundUpToMinute(new Date('2026-12-02T12:01:00Z')).toISOString()).toBe(
      '2026-12-02T12:01:00.000Z',
    );
  });

  it('holds a booking active from its start to just before its end', () => {
    const window = { start: at(1).toISOString(), end: at(2).toISOString() };
    expect(isActive(window, at(0.99))).toBe(false);
    expect(isActive(window, at(1))).toBe(true);
    expect(isActive(window, at(2))).toBe(false);
  });
});

describe('addBooking', () => {
  it('books what is free, with an id, and keeps bookings by start', () => {
    const later = book(emptyLedger(), request({ start: at(5), end: at(6) }));
    const both = book(later, request({ user: 'bob', start: at(1), end: at(2) }));
    expect(both.bookings?.map((b) => [b.user, b.id])).toEqual([
      ['bob', 'b1001'],
      ['alice', 'b1000'],
    ]);
    expect(both.bookings?.[0]).toMatchObject({
      start: at(1).toISOString(),
      end: at(2).toISOString(),
      request: { gpus: 2, cpus: 4, memoryMb: 16 * GB },
      createdAt: NOW.toISOString(),
    });
  });

  it('refuses a booking that does not fit beside others, naming the first conflicting time and who holds it', () => {
    // alice has 3 GPUs from +1h to +3h; bob wants 2 from +2h to +4h
    const state = book(emptyLedger(), request({ request: { gpus: 3, cpus: 1, memoryMb: GB } }));
    const error = refusal(() =>
      book(
        state,
        request({
          user: 'bob',
          start: at(2),
          end: at(4),
          request: { gpus: 2, cpus: 1, memoryMb: GB },
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`at ${formatLocalTime(at(2))} 3 GPUs of 4 GPUs are booked`);
    expect(error.message).toContain('alice 3 GPUs in b1000');
    // Back to back is fine: ends are open.
    const after = book(state, request({ user: 'bob', start: at(3), end: at(4) }));
    expect(after.bookings).toHaveLength(2);
  });

  it('checks the moment another booking starts inside the window, not only the window start', () => {
    const state = book(
      emptyLedger(),
      request({ start: at(2), end: at(3), request: { gpus: 0, cpus: 6, memoryMb: GB } }),
    );
    const error = refusal(() =>
      book(
        state,
        request({
          user: 'bob',
          start: at(1),
          end: at(4),
          request: { gpus: 0, cpus: 4, memoryMb: GB },
        }),
      ),
    );
    expect(error.message).toContain(`at ${formatLocalTime(at(2))} 6 CPUs of 8 CPUs are booked`);
  });

  it('refuses specific GPUs someone else has booked for the same time', () => {
    const state = book(emptyLedger(), request({ gpuIds: [0, 3] }));
    const error = refusal(() => book(state, request({ user: 'bob', gpuIds: [1, 3] })));
    expect(error.message).toContain('GPU 3 is booked by alice (b1000)');
    expect(book(state, request({ user: 'bob', gpuIds: [1, 2] })).bookings).toHaveLength(2);
  });

  it.each([
    ['an end before the start', { start: at(2), end: at(1) }, UsageError, 'ends before it starts'],
    ['a start in the past', { start: at(-1), end: at(1) }, UsageError, 'in the past'],
    ['a start in seconds', { start: new Date(at(1).getTime() + 1000) }, UsageError, 'whole minute'],
    ['nothing booked', { request: { gpus: 0, cpus: 0, memoryMb: 0 } }, UsageError, 'books nothing'],
    [
      'more than the host',
      { request: { gpus: 5, cpus: 1, memoryMb: GB } },
      ConfigError,
      'this host has 4 GPUs',
    ],
    ['a GPU the host lacks', { gpuIds: [0, 7] }, UsageError, 'no GPU 7'],
    ['ids and count that differ', { gpuIds: [0] }, UsageError, 'as many different GPUs'],
  ])('refuses %s', (_what, overrides, type, message) => {
    const error = refusal(() => book(emptyLedger(), request(overrides as Partial<NewBooking>)));
    expect(error).toBeInstanceOf(type);
    expect(error.message).toContain(message);
  });

  it("keeps to the host's rules: how far ahead, how long, how many, and alignment", () => {
    const rules = {
      ...DEFAULT_BOOKING_RULES,
      maxAheadDays: 1,
      maxHours: 4,
      maxActivePerUser: 1,
      alignMinutes: 30,
    };
    const limits: UserLimits = { ...NO_LIMITS, bookings: rules };
    expect(
      refusal(() => book(emptyLedger(), request({ start: at(25), end: at(26) }), limits)).message,
    ).toContain('more than 1 days ahead');
    expect(
      refusal(() => book(emptyLedger(), request({ start: at(1), end: at(6) }), limits)).message,
    ).toContain('longer than the 4 hours');
    const quarter = new Date(at(1).getTime() + 15 * 60_000);
    expect(
      refusal(() => book(emptyLedger(), request({ start: quarter, end: at(2) }), limits)).message,
    ).toContain('multiples of 30 minutes');
    const one = book(emptyLedger(), request(), limits);
    expect(
      refusal(() => book(one, request({ start: at(4), end: at(5) }), limits)).message,
    ).toContain('bookings.maxActivePerUser: 1');
    // A user's own allowance overrides the host's.
    const generous: UserLimits = {
      ...NO_LIMITS,
      bookings: {
        ...rules,
        users: { alice: { maxAheadDays: 1, maxHours: 4, maxActivePerUser: 3 } },
      },
    };
    expect(book(one, request({ start: at(4), end: at(5) }), generous).bookings).toHaveLength(2);
  });

  it("refuses more than the user's per-user limit lets them hold", () => {
    const limits: UserLimits = { default: { gpus: 1 }, users: {} };
    expect(refusal(() => book(emptyLedger(), request(), limits)).message).toContain(
      'the booking asks for 2 GPUs but alice may hold at most 1 GPU at once',
    );
  });
});

describe('cancelBooking and currentBookings', () => {
  it('lets the booker or root cancel, nobody else', () => {
    const state = book(emptyLedger(), request());
    expect(
      refusal(() => cancelBooking(state, 'b1000', { uid: 1001, isRoot: false }, NOW)).message,
    ).toContain("alice's");
    expect(
      cancelBooking(state, '1000', { uid: 1000, isRoot: false }, NOW).state.bookings,
    ).toBeUndefined();
    const byRoot = cancelBooking(state, 'b1000', { uid: 0, isRoot: true }, NOW);
    expect(byRoot.result.user).toBe('alice');
    // One record for the booking's history, saying it was cancelled and when.
    expect(byRoot.bookingHistory).toEqual([
      { ...byRoot.result, ending: 'cancelled', endedAt: NOW.toISOString() },
    ]);
    expect(
      refusal(() => cancelBooking(state, 'b4242', { uid: 1000, isRoot: false }, NOW)),
    ).toBeInstanceOf(UsageError);
  });

  it('refuses to cancel a booking that has ended', () => {
    const state = book(emptyLedger(), request());
    expect(
      refusal(() => cancelBooking(state, 'b1000', { uid: 1000, isRoot: false }, at(3))).message,
    ).toContain('there is no booking b1000');
  });

  it('lists only what has not ended, by start', () => {
    const state = book(
      book(emptyLedger(), request({ start: at(5), end: at(6) })),
      request({ user: 'bob' }),
    );
    expect(currentBookings(state, at(4)).map((b) => b.user)).toEqual(['alice']);
    expect(currentBookings(state, NOW).map((b) => b.user)).toEqual(['bob', 'alice']);
  });
});
