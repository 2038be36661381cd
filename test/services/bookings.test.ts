import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import { DEFAULT_BOOKING_RULES } from '../../src/core/host-config.js';
import type { HostPolicy } from '../../src/core/queue-transitions.js';
import { manualClock } from '../../src/host/clock.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import {
  cancelBookingOf,
  importBookingFile,
  listBookings,
  makeBooking,
  type BookingSession,
} from '../../src/services/bookings.js';
import { makeTempDir } from '../support/tmp.js';

// Local parts, so alignment and the CSV's local times mean the same in every time zone.
const NOW = new Date(2026, 11, 2, 12, 0);
const POLICY: HostPolicy = {
  capacity: { gpus: [{ index: 0 }, { index: 1 }], cpus: [0, 1, 2, 3], memoryMb: 8192 },
  limits: { default: {}, users: {}, bookings: { ...DEFAULT_BOOKING_RULES, maxActivePerUser: 5 } },
};
const ALICE = { name: 'alice', uid: 1000, isRoot: false };
const ROOT = { name: 'root', uid: 0, isRoot: true };

let dir: string;
let cleanup: () => Promise<void>;
let store: LedgerStore;
let session: BookingSession;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('rp-bookings-'));
  store = await openLedger({ rpHome: dir, clock: manualClock(NOW), recover: async () => [] });
  session = { store, transact: (decide) => store.transactWith(async () => POLICY, decide) };
});
afterEach(async () => {
  await cleanup();
});

const hour = (h: number): Date => new Date(2026, 11, 2, 12 + h, 0);

async function csv(name: string, rows: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, ['start,end,user_id,cpus,memory,gpus', ...rows, ''].join('\n'));
  return file;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: Error) => error,
  );
}

describe('booking through the ledger', () => {
  it('books, lists by user, and lets only the owner or root cancel', async () => {
    const request = { user: 'alice', uid: 1000, start: hour(1), end: hour(2) };
    const made = await makeBooking(
      session,
      { ...request, request: { gpus: 1, cpus: 0, memoryMb: 0 } },
      { now: NOW, randomInt: () => 234 },
    );
    expect(made.booking).toEqual({
      id: 'b1234',
      user: 'alice',
      start: hour(1).toISOString(),
      end: hour(2).toISOString(),
      gpus: 1,
      cpus: 0,
      memoryMb: 0,
    });
    expect(await listBookings(session, { user: 'alice', now: NOW })).toEqual([made.booking]);
    expect(await listBookings(session, { user: 'bob', now: NOW })).toEqual([]);

    const bob = { name: 'bob', uid: 1001, isRoot: false };
    const refused = await failure(cancelBookingOf(session, 'b1234', bob, NOW));
    expect(refused.message).toBe("booking b1234 is alice's: only they or root may cancel it");
    expect(await cancelBookingOf(session, '1234', ROOT, NOW)).toEqual(made.booking);
    expect(await listBookings(session, { now: NOW })).toEqual([]);
  });
});

describe('importing a CSV file', () => {
  it('books every row in one transaction', async () => {
    const file = await csv('ok.csv', [
      '2026-12-02 13:00,2026-12-02 14:00,alice,2,1,1',
      '2026-12-02 13:30,2026-12-02 15:00,bob,2,0.5,1',
    ]);
    const made = await importBookingFile(session, {
      file,
      caller: ROOT,
      uidOf: async (name) => ({ alice: 1000, bob: 1001 })[name],
      now: NOW,
    });
    expect(made.map(({ booking }) => [booking.user, booking.cpus, booking.memoryMb])).toEqual([
      ['alice', 2, 1024],
      ['bob', 2, 512],
    ]);
    const ledger = await store.read();
    expect(ledger.bookings?.map((booking) => [booking.user, booking.uid])).toEqual([
      ['alice', 1000],
      ['bob', 1001],
    ]);
  });

  it('books none when one row does not fit, naming the file and the row', async () => {
    const file = await csv('full.csv', [
      '2026-12-02 13:00,2026-12-02 14:00,alice,2,0,1',
      '2026-12-02 13:30,2026-12-02 15:00,alice,3,0,0',
    ]);
    const error = await failure(
      importBookingFile(session, { file, caller: ALICE, uidOf: async () => undefined, now: NOW }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(new RegExp(`^${file} row 3: at .* 2 CPUs of 4 CPUs are booked`));
    expect((await store.read()).bookings).toBeUndefined();
  });

  it("refuses another user's row unless root imports it, and users the host does not know", async () => {
    const file = await csv('bob.csv', ['2026-12-02 13:00,2026-12-02 14:00,bob,1,0,0']);
    const notYou = await failure(
      importBookingFile(session, { file, caller: ALICE, uidOf: async () => 1001, now: NOW }),
    );
    expect(notYou).toBeInstanceOf(UsageError);
    expect(notYou.message).toBe(`${file} row 2: user_id bob is not you (alice)`);
    const unknown = await failure(
      importBookingFile(session, { file, caller: ROOT, uidOf: async () => undefined, now: NOW }),
    );
    expect(unknown.message).toBe(`${file} row 2: user_id bob is no user of this host`);
    expect((await store.read()).bookings).toBeUndefined();
  });

  it('names the flag and the file it cannot read', async () => {
    const file = join(dir, 'missing.csv');
    const error = await failure(
      importBookingFile(session, { file, caller: ALICE, uidOf: async () => undefined, now: NOW }),
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`--import: cannot read ${file}: no such file`);
  });
});
