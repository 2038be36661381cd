import { describe, expect, it } from 'vitest';
import { bookingObstacles } from '../../src/core/booking-notes.js';
import type { HostCapacity } from '../../src/core/host-config.js';
import type { Booking, JobEntry } from '../../src/core/ledger-state.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const HOUR = 3_600_000;
const KILL_WAIT = 30;
const CAPACITY: HostCapacity = {
  gpus: [0, 1, 2, 3].map((index) => ({ index })),
  cpus: [0, 1, 2, 3, 4, 5, 6, 7],
  memoryMb: 64 * 1024,
};

/** A booking from two hours from now. */
function booking(request: Booking['request'], gpuIds?: number[]): Booking {
  return {
    id: 'b1234',
    user: 'carol',
    uid: 1002,
    start: new Date(NOW.getTime() + 2 * HOUR).toISOString(),
    end: new Date(NOW.getTime() + 3 * HOUR).toISOString(),
    request,
    ...(gpuIds === undefined ? {} : { gpuIds }),
    createdAt: NOW.toISOString(),
  };
}

function job(id: string, user: string, gpus: number[], extra: Partial<JobEntry> = {}): JobEntry {
  return {
    id,
    seq: Number(id),
    user,
    uid: 1000,
    project: { path: '/p', name: 'p' },
    kind: 'run',
    command: 'train',
    request: { gpus: gpus.length, cpus: 1, memoryMb: 1024 },
    state: 'running',
    grant: { gpus, cpus: [Number(id) % 8], memoryMb: 1024 },
    submittedAt: NOW.toISOString(),
    startedAt: NOW.toISOString(),
    supervisor: { pid: 1, startTime: '1' },
    ...extra,
  };
}

const inHours = (hours: number): string => new Date(NOW.getTime() + hours * HOUR).toISOString();

describe('jobs that may still hold what a new booking needs', () => {
  it('names jobs without a limit, or with one that ends after the start, when GPUs would be short', () => {
    const jobs = [
      job('1001', 'alice', [0, 1]),
      job('1002', 'bob', [2], { timeLimit: { seconds: 4 * 3600 }, deadline: inHours(4) }),
      job('1003', 'bob', [3], { timeLimit: { seconds: 3600 }, deadline: inHours(1) }),
    ];
    const obstacles = bookingObstacles(
      jobs,
      booking({ gpus: 2, cpus: 0, memoryMb: 0 }),
      CAPACITY,
      NOW,
      KILL_WAIT,
    );
    expect(obstacles).toEqual([
      {
        job: '1001',
        user: 'alice',
        holds: { gpus: 2, cpus: 0, memoryMb: 0 },
        gpuIds: [],
        until: null,
      },
      {
        job: '1002',
        user: 'bob',
        holds: { gpus: 1, cpus: 0, memoryMb: 0 },
        gpuIds: [],
        until: new Date(NOW.getTime() + 4 * HOUR + KILL_WAIT * 1000).toISOString(),
      },
    ]);
  });

  it('names nobody when what stays leaves room for the booking', () => {
    const jobs = [job('1001', 'alice', [0])];
    expect(
      bookingObstacles(
        jobs,
        booking({ gpus: 3, cpus: 4, memoryMb: 1024 }),
        CAPACITY,
        NOW,
        KILL_WAIT,
      ),
    ).toEqual([]);
  });

  it('names a job holding a GPU the booking names, even with room elsewhere', () => {
    const jobs = [job('1001', 'alice', [3]), job('1002', 'bob', [1])];
    const obstacles = bookingObstacles(
      jobs,
      booking({ gpus: 1, cpus: 0, memoryMb: 0 }, [3]),
      CAPACITY,
      NOW,
      KILL_WAIT,
    );
    expect(obstacles).toEqual([
      {
        job: '1001',
        user: 'alice',
        holds: { gpus: 1, cpus: 0, memoryMb: 0 },
        gpuIds: [3],
        until: null,
      },
    ]);
  });

  it('leaves out queued jobs and jobs whose booking ends before the start', () => {
    const queued = job('1001', 'alice', [], { state: 'queued' });
    delete queued.grant;
    const inBooking = job('1002', 'bob', [0, 1, 2, 3], {
      booking: { id: 'b1000', until: inHours(1) },
    });
    expect(
      bookingObstacles(
        [queued, inBooking],
        booking({ gpus: 4, cpus: 8, memoryMb: 0 }),
        CAPACITY,
        NOW,
        KILL_WAIT,
      ),
    ).toEqual([]);
  });

  it('counts cores and memory as well, naming tasks of arrays as users type them', () => {
    const task = job('1005', 'alice', [], { array: { task: 7 } });
    const obstacles = bookingObstacles(
      [task],
      booking({ gpus: 0, cpus: 8, memoryMb: 64 * 1024 }),
      CAPACITY,
      NOW,
      KILL_WAIT,
    );
    expect(obstacles).toEqual([
      {
        job: '1005_7',
        user: 'alice',
        holds: { gpus: 0, cpus: 1, memoryMb: 1024 },
        gpuIds: [],
        until: null,
      },
    ]);
  });
});
