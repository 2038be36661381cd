import { describe, expect, it } from 'vitest';
import {
  bookingsCsv,
  describeBooked,
  describeCancelled,
  noBookingsLine,
  renderBookingTable,
  renderObstacles,
  renderTimeline,
  stateOf,
  TIMELINE_WIDTH,
  type BookingRow,
} from '../../src/ui/bookings.js';

// Local parts throughout, so what is shown in local time is the same in every time zone.
const NOW = new Date(2026, 11, 2, 12, 0);
const at = (hours: number, minutes = 0): string =>
  new Date(2026, 11, 2, 12 + hours, minutes).toISOString();

const ALICE: BookingRow = {
  id: 'b1234',
  user: 'alice',
  start: at(-1),
  end: at(2),
  gpus: 2,
  cpus: 4,
  memoryMb: 16 * 1024,
};
const BOB: BookingRow = {
  id: 'b2001',
  user: 'bob',
  start: at(2, 5),
  end: at(5),
  gpus: 2,
  gpuIds: [0, 3],
  cpus: 0,
  memoryMb: 0,
};
const CAROL: BookingRow = {
  id: 'b3001',
  user: 'carolyn',
  start: at(20),
  end: at(26),
  gpus: 0,
  cpus: 16,
  memoryMb: 512,
};

describe('what rp book prints', () => {
  it('says what was booked or cancelled, leaving out what was not booked', () => {
    expect(describeBooked(ALICE)).toBe(
      'Booked b1234 for alice: 2 GPUs, 4 CPUs, 16 GB, 2026-12-02 11:00 to 14:00 (3h)',
    );
    expect(describeBooked(BOB)).toBe(
      'Booked b2001 for bob: 2 GPUs (0,3), 2026-12-02 14:05 to 17:00 (2h 55m)',
    );
    expect(describeCancelled(CAROL)).toBe(
      'Cancelled b3001 of carolyn: 16 CPUs, 512 MB, 2026-12-03 08:00 to 14:00 (6h)',
    );
  });

  it('warns about each job that may hold the booking up, with its time limit or none', () => {
    const lines = renderObstacles({ id: 'b2001' }, [
      {
        job: '1234',
        user: 'alice',
        holds: { gpus: 2, cpus: 0, memoryMb: 0 },
        gpuIds: [],
        until: null,
      },
      {
        job: '1235_2',
        user: 'bob',
        holds: { gpus: 1, cpus: 0, memoryMb: 1024 },
        gpuIds: [3],
        until: at(3),
      },
    ]);
    expect(lines).toEqual([
      'rp: warning: running jobs may still hold what b2001 needs when it starts (a booking keeps out only jobs started after it was made):',
      '  job 1234 of alice holds 2 GPUs with no time limit',
      '  job 1235_2 of bob holds 1 GPU (3), 1 GB memory until 2026-12-02 15:00 at the latest (its time limit)',
    ]);
    expect(renderObstacles({ id: 'b2001' }, [])).toEqual([]);
  });
});

describe('rp bookings', () => {
  it('lists the bookings with their state: active, or how long until they start', () => {
    expect(renderBookingTable([ALICE, BOB, CAROL], NOW)).toEqual([
      'ID     USER     START             END               DURATION     GPUS  CPUS  MEMORY  STATE',
      'b1234  alice    2026-12-02 11:00  2026-12-02 14:00        3h        2     4   16 GB  active',
      'b2001  bob      2026-12-02 14:05  2026-12-02 17:00    2h 55m  2 (0,3)     0       0  in 2h 5m',
      'b3001  carolyn  2026-12-03 08:00  2026-12-03 14:00        6h        0    16  512 MB  in 20h',
    ]);
    expect(stateOf({ start: NOW.toISOString() }, NOW)).toBe('active');
  });

  it('draws a timeline from now to the last end, with dates and hour marks, in 80 columns', () => {
    const lines = renderTimeline([ALICE, BOB, CAROL], NOW);
    expect(lines).toEqual([
      '               2026-12-02                    2026-12-03',
      '               12:00  15:00   18:00  21:00   00:00  03:00   06:00  09:00   12:00',
      'b1234 alice    █████····························································',
      'b2001 bob      ·····████████····················································',
      'b3001 carolyn  ··················································███████████████',
    ]);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(TIMELINE_WIDTH);
  });

  it('draws even a short booking, on a scale of minutes', () => {
    const short = { ...CAROL, start: at(0, 5), end: at(0, 20) };
    expect(renderTimeline([short], NOW)).toEqual([
      '               2026-12-02',
      '               12:00     12:10      12:20      12:30      12:40      12:50',
      'b3001 carolyn  ·····█████████████████···········································',
    ]);
  });

  it('marks days alone over two weeks, and says where it stops drawing', () => {
    const later = { ...CAROL, start: at(24 * 13), end: at(24 * 16) };
    const lines = renderTimeline([later], NOW);
    expect(lines[0]).toMatch(/^ {15}12-02 +12-04 +12-06/);
    expect(lines[1]).toMatch(/^b3001 carolyn {2}·+█+$/);
    expect(lines[2]).toBe('(drawn up to 2026-12-16 12:00; the table has the rest)');
    expect(lines).toHaveLength(3);
  });

  it('says so when there is nothing to list', () => {
    expect(renderTimeline([], NOW)).toEqual([]);
    expect(noBookingsLine({ user: 'alice' })).toMatch(/^No upcoming or active bookings of alice;/);
    expect(noBookingsLine({})).toBe('No upcoming or active bookings on this host.');
  });

  it('exports CSV in the header rp book --import reads: local times, GB, a GPU count, GPU ids', () => {
    expect(bookingsCsv([ALICE, BOB, CAROL])).toBe(
      [
        'start,end,user_id,cpus,memory,gpus,gpu_ids',
        '2026-12-02 11:00,2026-12-02 14:00,alice,4,16,2,',
        '2026-12-02 14:05,2026-12-02 17:00,bob,0,0,2,"0,3"',
        '2026-12-03 08:00,2026-12-03 14:00,carolyn,16,0.5,0,',
        '',
      ].join('\n'),
    );
    expect(bookingsCsv([])).toBe('start,end,user_id,cpus,memory,gpus,gpu_ids\n');
  });
});
