import { mkdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addBooking, cancelBooking } from '../../src/core/bookings.js';
import type { HostCapacity, UserLimits } from '../../src/core/host-config.js';
import { manualClock } from '../../src/host/clock.js';
import { readBookingHistory, readHistory } from '../../src/ledger/history.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { openLedger } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';

const clock = manualClock('2026-12-02T12:00:00.000Z');
const CAPACITY: HostCapacity = { gpus: [], cpus: [0, 1], memoryMb: 4096 };
const LIMITS: UserLimits = { default: {}, users: {} };

let rpHome: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-booking-history-'));
  await mkdir(ledgerPaths(rpHome).dir);
});
afterEach(async () => {
  await cleanup();
});

describe('the booking history', () => {
  it("keeps one record per booking that leaves the ledger, apart from the jobs' history", async () => {
    const store = await openLedger({ rpHome, clock, recover: async () => [] });
    const booked = await store.transact((state) =>
      addBooking(
        state,
        {
          user: 'alice',
          uid: 1000,
          start: new Date('2026-12-02T13:00:00.000Z'),
          end: new Date('2026-12-02T14:00:00.000Z'),
          request: { gpus: 0, cpus: 2, memoryMb: 0 },
        },
        CAPACITY,
        LIMITS,
        clock.now(),
        () => 0,
      ),
    );
    await store.transact((state) =>
      cancelBooking(state, booked.id, { uid: 1000, isRoot: false }, clock.now()),
    );

    const paths = ledgerPaths(rpHome);
    expect(await readBookingHistory(paths.bookingHistory, ['2026-12'])).toEqual([
      { ...booked, ending: 'cancelled', endedAt: clock.now().toISOString() },
    ]);
    // The jobs' history neither holds it nor trips over its folder.
    expect(await readHistory(paths.history)).toEqual({ records: [], skippedLines: 0 });
  });
});
