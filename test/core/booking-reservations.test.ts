import { describe, expect, it } from 'vitest';
import { tendBookings } from '../../src/core/booking-reservations.js';
import { formatLocalTime } from '../../src/core/dates.js';
import {
  DEFAULT_BOOKING_RULES,
  type HostCapacity,
  type UserLimits,
} from '../../src/core/host-config.js';
import {
  LEDGER_VERSION,
  type Booking,
  type JobEntry,
  type LedgerState,
  type ResourceRequest,
} from '../../src/core/ledger-state.js';
import { schedule } from '../../src/core/queue-transitions.js';
import { describeQueue } from '../../src/core/scheduler.js';

const GB = 1024;
const NOW = new Date('2026-12-02T12:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const CPUS_ONLY: HostCapacity = { gpus: [], cpus: [0, 1, 2, 3], memoryMb: 16 * GB };
const GPUS: HostCapacity = {
  gpus: [0, 1, 2, 3].map((index) => ({ index })),
  cpus: [0, 1, 2, 3, 4, 5, 6, 7],
  memoryMb: 64 * GB,
};
const LIMITS: UserLimits = { default: {}, users: {}, killWaitSeconds: 30 };

function at(ms: number): Date {
  return new Date(NOW.getTime() + ms);
}

function booking(fields: Partial<Booking> & Pick<Booking, 'user'>): Booking {
  return {
    id: 'b1000',
    uid: 1001,
    start: at(MINUTE).toISOString(),
    end: at(3 * MINUTE).toISOString(),
    request: { gpus: 0, cpus: 4, memoryMb: 0 },
    createdAt: NOW.toISOString(),
    ...fields,
  };
}

class Host {
  state: LedgerState = { version: LEDGER_VERSION, nextSeq: 1, jobs: [] };

  constructor(
    private readonly capacity: HostCapacity,
    bookings: Booking[],
  ) {
    this.state.bookings = bookings;
  }

  submit(user: string, request: ResourceRequest, seconds?: number): JobEntry {
    const seq = this.state.nextSeq;
    const job: JobEntry = {
      id: String(1000 + seq),
      seq,
      user,
      uid: 1000,
      project: { path: `/home/${user}/p`, name: 'p' },
      kind: 'run',
      command: 'train.sh',
      request,
      state: 'queued',
      submittedAt: NOW.toISOString(),
      supervisor: { pid: 100 + seq, startTime: '1' },
      ...(seconds === undefined ? {} : { timeLimit: { seconds } }),
    };
    this.state = { ...this.state, nextSeq: seq + 1, jobs: [...this.state.jobs, job] };
    return job;
  }

  schedule(now: Date = NOW, limits: UserLimits = LIMITS): void {
    this.state = schedule(this.state, { capacity: this.capacity, limits }, now).state;
  }

  job(id: string): JobEntry {
    const job = this.state.jobs.find((entry) => entry.id === id);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }
}

const core = (cpus: number): ResourceRequest => ({ gpus: 0, cpus, memoryMb: GB });

describe('jobs before a booking', () => {
  it('start on booked resources only if they end, kill wait included, before it starts', () => {
    // bob books all 4 cores from +1 min for 2 min
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const unlimited = host.submit('alice', core(1));
    const short = host.submit('alice', core(1), 10);
    const tooLong = host.submit('alice', core(1), 60);
    host.schedule();
    // 10 s + 30 s kill wait ends before +60 s; 60 s + 30 s does not; no limit never does.
    expect(host.job(short.id).state).toBe('granted');
    expect(host.job(unlimited.id).state).toBe('queued');
    expect(host.job(tooLong.id).state).toBe('queued');
    const waiting = describeQueue(host.state, CPUS_ONLY, LIMITS, NOW);
    expect(waiting.find((entry) => entry.jobId === unlimited.id)?.waitingFor).toBe(
      `1 CPU (0 free); kept for booking b1000 of bob from ${formatLocalTime(at(MINUTE))} to ${formatLocalTime(at(3 * MINUTE))}`,
    );
  });

  it("leave the booker's own booking to the booker alone: the booker's jobs are not held back", () => {
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const bobs = host.submit('bob', core(2));
    host.schedule();
    expect(host.job(bobs.id).state).toBe('granted');
  });

  it('use what nobody booked freely', () => {
    const host = new Host(CPUS_ONLY, [
      booking({ user: 'bob', request: { gpus: 0, cpus: 2, memoryMb: 0 } }),
    ]);
    const first = host.submit('alice', core(1));
    const second = host.submit('alice', core(1));
    const third = host.submit('alice', core(1));
    host.schedule();
    expect([first, second, third].map((job) => host.job(job.id).state)).toEqual([
      'granted',
      'granted',
      'queued',
    ]);
  });
});

describe('during a booking', () => {
  it("gives the booker's jobs the booked resources ahead of the queue, until its end", () => {
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const alices = [host.submit('alice', core(2)), host.submit('alice', core(2))];
    const bobs = host.submit('bob', core(4));
    host.schedule(at(MINUTE));
    expect(host.job(bobs.id)).toMatchObject({
      state: 'granted',
      booking: { id: 'b1000', until: at(3 * MINUTE).toISOString() },
    });
    expect(alices.map((job) => host.job(job.id).state)).toEqual(['queued', 'queued']);
  });

  it("lets nobody else's job start on it, limit or not", () => {
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const short = host.submit('alice', core(1), 1);
    host.schedule(at(MINUTE + SECOND));
    expect(host.job(short.id).state).toBe('queued');
  });

  it('adds the overrun to the end a job granted in it may run to', () => {
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const bobs = host.submit('bob', core(1));
    const limits = { ...LIMITS, bookings: { ...DEFAULT_BOOKING_RULES, overrunMinutes: 5 } };
    host.schedule(at(MINUTE), limits);
    expect(host.job(bobs.id).booking?.until).toBe(at(8 * MINUTE).toISOString());
  });

  it('hands out the booked GPUs themselves when the booking names them, and never to others', () => {
    const host = new Host(GPUS, [
      booking({ user: 'bob', request: { gpus: 2, cpus: 0, memoryMb: 0 }, gpuIds: [0, 3] }),
    ]);
    const alices = host.submit('alice', { gpus: 2, cpus: 1, memoryMb: GB });
    host.schedule(at(MINUTE));
    expect(host.job(alices.id).grant?.gpus).toEqual([1, 2]);
    const bobs = host.submit('bob', { gpus: 2, cpus: 1, memoryMb: GB });
    host.schedule(at(MINUTE));
    expect(host.job(bobs.id).grant?.gpus).toEqual([0, 3]);
  });
});

describe('tendBookings', () => {
  const rules = DEFAULT_BOOKING_RULES;

  function ledger(jobs: JobEntry[], bookings: Booking[]): LedgerState {
    return { version: LEDGER_VERSION, nextSeq: 10, jobs, bookings };
  }

  it('releases a booking nobody used for idleReleaseMinutes after its start', () => {
    const state = ledger([], [booking({ user: 'bob' })]);
    expect(tendBookings(state, rules, at(MINUTE + 29 * MINUTE - 1)).released).toEqual([]);
    const tended = tendBookings(state, { ...rules, idleReleaseMinutes: 1 }, at(2 * MINUTE));
    expect(tended.released.map((b) => b.id)).toEqual(['b1000']);
    expect(tended.state.bookings).toBeUndefined();
  });

  it("marks a booking used while its user's job holds resources, and then keeps it", () => {
    const running: JobEntry = {
      ...new Host(CPUS_ONLY, []).submit('bob', core(1)),
      state: 'running',
      grant: { gpus: [], cpus: [0], memoryMb: GB },
    };
    const used = tendBookings(ledger([running], [booking({ user: 'bob' })]), rules, at(MINUTE));
    expect(used.state.bookings?.[0]?.usedAt).toBe(at(MINUTE).toISOString());
    const later = tendBookings(
      ledger([], used.state.bookings ?? []),
      { ...rules, idleReleaseMinutes: 1 },
      at(2 * MINUTE),
    );
    expect(later.released).toEqual([]);
  });

  it('lets an ended booking leave, and changes nothing before a booking starts', () => {
    const state = ledger([], [booking({ user: 'bob' })]);
    expect(tendBookings(state, rules, NOW).state).toBe(state);
    const ended = tendBookings(state, rules, at(3 * MINUTE));
    expect(ended.ended.map((b) => b.id)).toEqual(['b1000']);
    expect(ended.state.bookings).toBeUndefined();
  });
});

describe('a booking used from its start', () => {
  it('is never released as idle once its user was granted in it', () => {
    const host = new Host(CPUS_ONLY, [booking({ user: 'bob' })]);
    const bobs = host.submit('bob', core(1));
    host.schedule(at(MINUTE));
    expect(host.state.bookings?.[0]?.usedAt).toBe(at(MINUTE).toISOString());
    // The job ended at once; the booking stays until its end.
    host.state = { ...host.state, jobs: host.state.jobs.filter((job) => job.id !== bobs.id) };
    const limits = { ...LIMITS, bookings: { ...DEFAULT_BOOKING_RULES, idleReleaseMinutes: 1 } };
    host.schedule(at(2 * MINUTE + SECOND), limits);
    expect(host.state.bookings?.map((b) => b.id)).toEqual(['b1000']);
  });
});

describe('preemptible jobs', () => {
  it('run on booked resources, and are marked preempted, newest first, when the booking starts', () => {
    const host = new Host(CPUS_ONLY, [
      booking({ user: 'bob', request: { gpus: 0, cpus: 2, memoryMb: 0 } }),
    ]);
    const plain = host.submit('alice', core(2));
    const older = { ...host.submit('alice', core(1)), preemptible: true as const };
    const newer = { ...host.submit('alice', core(1)), preemptible: true as const };
    host.state = {
      ...host.state,
      jobs: host.state.jobs.map((job) =>
        job.id === older.id ? older : job.id === newer.id ? newer : job,
      ),
    };
    // Before the booking: the unlimited plain job takes the 2 unbooked cores; the preemptible
    // ones run on the 2 booked cores anyway.
    host.schedule();
    expect([plain, older, newer].map((job) => host.job(job.id).state)).toEqual([
      'granted',
      'granted',
      'granted',
    ]);
    const startedAt = (id: string, ms: number): void => {
      host.state = {
        ...host.state,
        jobs: host.state.jobs.map((job) =>
          job.id === id ? { ...job, state: 'running', startedAt: at(ms).toISOString() } : job,
        ),
      };
    };
    startedAt(plain.id, 0);
    startedAt(older.id, 1000);
    startedAt(newer.id, 2000);

    // When bob's booking of 2 cores starts, both preemptible jobs must go; not the plain one.
    host.schedule(at(MINUTE));
    expect(host.job(newer.id).preempted).toEqual({
      at: at(MINUTE).toISOString(),
      booking: 'b1000',
    });
    expect(host.job(newer.id).deadline).toBe(at(MINUTE).toISOString());
    expect(host.job(older.id).preempted?.booking).toBe('b1000');
    expect(host.job(plain.id).preempted).toBeUndefined();
  });

  it('are left alone while the booking is covered by what is free', () => {
    const host = new Host(CPUS_ONLY, [
      booking({ user: 'bob', request: { gpus: 0, cpus: 1, memoryMb: 0 } }),
    ]);
    const job = { ...host.submit('alice', core(1)), preemptible: true as const };
    host.state = { ...host.state, jobs: [job] };
    host.schedule();
    host.state = {
      ...host.state,
      jobs: host.state.jobs.map((entry) => ({
        ...entry,
        state: 'running',
        startedAt: NOW.toISOString(),
      })),
    };
    host.schedule(at(MINUTE));
    expect(host.job(job.id).preempted).toBeUndefined();
  });
});
