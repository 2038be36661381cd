import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import type { HistoryRecord, JobEntry } from '../../src/core/ledger-state.js';
import {
  buildUsageReport,
  collectUsageJobs,
  isFailure,
  isoWeekKey,
  reportMonths,
  reportWindow,
  startOfIsoWeek,
  type UsageJob,
  type UsageBooking,
  type UsageReportOptions,
} from '../../src/core/usage-report.js';

const t = (iso: string) => Date.parse(iso);

/** A job of `user` that held `gpus` GPUs and `cpus` cores from `start` to `end`. */
function job(
  user: string,
  start: string | undefined,
  end: string,
  extra: Partial<UsageJob> = {},
): UsageJob {
  return {
    user,
    uid: user === 'alice' ? 1000 : user === 'bob' ? 1001 : 1002,
    project: 'proj',
    gpus: 1,
    cpus: 4,
    ...(start === undefined ? {} : { startedAt: t(start) }),
    endedAt: t(end),
    ending: 'exited',
    exitCode: 0,
    ...extra,
  };
}

// A Monday-to-Monday week: 2026-03-02 is a Monday.
const WEEK: UsageReportOptions['window'] = {
  from: new Date('2026-03-02T00:00:00Z'),
  to: new Date('2026-03-09T00:00:00Z'),
};
const ROOT = { uid: 0, everyone: true };
const ALICE = { uid: 1000, everyone: false };

describe('buildUsageReport', () => {
  it('sums GPU- and CPU-hours per user, clipped to the window', () => {
    // Given alice ran 2 GPUs × 3 h inside the window, and bob 1 GPU from 2 h before it began to
    // 1 h after,
    const jobs = [
      job('alice', '2026-03-03T10:00:00Z', '2026-03-03T13:00:00Z', { gpus: 2, cpus: 8 }),
      job('bob', '2026-03-01T22:00:00Z', '2026-03-02T01:00:00Z'),
    ];

    // When root asks for the week by user,
    const report = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ROOT });

    // Then alice has 6 GPU-hours and 24 CPU-hours, bob only his hour inside the window,
    expect(report.rows).toEqual([
      {
        key: 'alice',
        gpuHours: 6,
        cpuHours: 24,
        jobs: 1,
        failed: 0,
        timeouts: 0,
        sharePercent: (6 / 7) * 100,
        bookedHours: 0,
        bookedIdleHours: 0,
      },
      {
        key: 'bob',
        gpuHours: 1,
        cpuHours: 4,
        jobs: 1,
        failed: 0,
        timeouts: 0,
        sharePercent: (1 / 7) * 100,
        bookedHours: 0,
        bookedIdleHours: 0,
      },
    ]);
    // and the totals are everyone's.
    expect(report.total).toMatchObject({ key: 'total', gpuHours: 7, cpuHours: 28, jobs: 2 });
    expect(report.total.sharePercent).toBe(100);
    expect(report.shareOf).toBe('gpu_hours');
    expect(report).toMatchObject({
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-09T00:00:00.000Z',
    });
  });

  it('counts failures, non-zero exits and timeouts, and jobs that ended without running', () => {
    const jobs = [
      job('alice', '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z', { exitCode: 3 }),
      job('alice', '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z', {
        ending: 'failed',
        exitCode: undefined,
      }),
      job('alice', '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z', { ending: 'timeout' }),
      job('alice', '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z', {
        ending: 'killed',
        exitCode: 137,
      }),
      // Cancelled while queued: counted, with no hours.
      job('alice', undefined, '2026-03-04T00:00:00Z', { ending: 'cancelled', exitCode: undefined }),
    ];
    const [alice] = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ROOT }).rows;
    expect(alice).toMatchObject({ jobs: 5, failed: 2, timeouts: 1, gpuHours: 4, cpuHours: 16 });
  });

  it('leaves out jobs that neither ran nor ended in the window', () => {
    const jobs = [
      job('alice', '2026-03-01T00:00:00Z', '2026-03-01T23:00:00Z'),
      job('alice', '2026-03-09T00:00:00Z', '2026-03-09T05:00:00Z'),
      job('alice', undefined, '2026-03-10T00:00:00Z', { ending: 'cancelled' }),
    ];
    const report = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ROOT });
    expect(report.rows).toEqual([]);
    expect(report.total).toMatchObject({ jobs: 0, gpuHours: 0, sharePercent: 0 });
  });

  it('shows a plain user only their own rows, with everyone in the totals and the shares', () => {
    const jobs = [
      job('alice', '2026-03-03T00:00:00Z', '2026-03-03T01:00:00Z'),
      job('bob', '2026-03-03T00:00:00Z', '2026-03-03T03:00:00Z'),
      job('carol', '2026-03-03T00:00:00Z', '2026-03-03T04:00:00Z', { ending: 'failed' }),
    ];
    const report = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ALICE });
    expect(report.rows.map((row) => [row.key, row.gpuHours, row.sharePercent])).toEqual([
      ['alice', 1, 12.5],
    ]);
    expect(report.total).toMatchObject({ gpuHours: 8, jobs: 3, failed: 1 });
  });

  it('shares out CPU-hours when the window used no GPU, and says so', () => {
    const jobs = [
      job('alice', '2026-03-03T00:00:00Z', '2026-03-03T01:00:00Z', { gpus: 0, cpus: 3 }),
      job('bob', '2026-03-03T00:00:00Z', '2026-03-03T01:00:00Z', { gpus: 0, cpus: 1 }),
    ];
    const report = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ROOT });
    expect(report.shareOf).toBe('cpu_hours');
    expect(report.rows.map((row) => [row.key, row.sharePercent])).toEqual([
      ['alice', 75],
      ['bob', 25],
    ]);
  });

  it('groups by project name, most GPU-hours first', () => {
    const jobs = [
      job('alice', '2026-03-03T00:00:00Z', '2026-03-03T01:00:00Z', { project: 'small' }),
      job('bob', '2026-03-03T00:00:00Z', '2026-03-03T02:00:00Z', { project: 'big' }),
      job('alice', '2026-03-03T00:00:00Z', '2026-03-03T02:00:00Z', { project: 'big' }),
    ];
    const report = buildUsageReport(jobs, { window: WEEK, by: 'project', viewer: ROOT });
    expect(report.rows.map((row) => [row.key, row.gpuHours, row.jobs])).toEqual([
      ['big', 4, 2],
      ['small', 1, 1],
    ]);
  });

  it('splits hours across ISO weeks and counts each job once, in the week its time ends', () => {
    // Given a window of two weeks and a job from Sunday 22:00 to Monday 02:00 across them,
    const window = { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-16T00:00:00Z') };
    const jobs = [
      job('alice', '2026-03-08T22:00:00Z', '2026-03-09T02:00:00Z'),
      // and one that ended exactly at a week's start: its time was in the week before.
      job('alice', '2026-03-08T23:00:00Z', '2026-03-09T00:00:00Z', { ending: 'timeout' }),
    ];

    const report = buildUsageReport(jobs, { window, by: 'week', viewer: ROOT });

    expect(report.rows.map((row) => [row.key, row.gpuHours, row.jobs, row.timeouts])).toEqual([
      ['2026-W10', 3, 1, 1],
      ['2026-W11', 2, 1, 0],
    ]);
    expect(report.total).toMatchObject({ gpuHours: 5, jobs: 2 });
  });

  it('lists every week of the window by week, used or not', () => {
    const window = { from: new Date('2026-03-04T12:00:00Z'), to: new Date('2026-03-20T00:00:00Z') };
    const report = buildUsageReport([], { window, by: 'week', viewer: ALICE });
    expect(report.rows.map((row) => row.key)).toEqual(['2026-W10', '2026-W11', '2026-W12']);
  });

  it('counts a running job up to now', () => {
    // Given a job that started 2 hours before now and runs on, in a window ending now,
    const now = new Date('2026-03-05T12:00:00Z');
    const entry: JobEntry = {
      id: '1234',
      seq: 1,
      user: 'alice',
      uid: 1000,
      project: { path: '/home/alice/proj', name: 'proj' },
      kind: 'run',
      command: 'train',
      request: { gpus: 2, cpus: 2, memoryMb: 1024 },
      state: 'running',
      grant: { gpus: [0, 1], cpus: [0, 1], memoryMb: 1024 },
      submittedAt: '2026-03-05T09:00:00Z',
      startedAt: '2026-03-05T10:00:00Z',
      supervisor: { pid: 1, startTime: '1' },
    };
    const queued: JobEntry = { ...entry, id: '1235', seq: 2, state: 'queued' };
    delete queued.grant;
    delete queued.startedAt;

    const jobs = collectUsageJobs([], [entry, queued], now);
    const report = buildUsageReport(jobs, {
      window: { from: new Date('2026-03-05T00:00:00Z'), to: now },
      by: 'user',
      viewer: ROOT,
    });

    // Then it has 2 GPUs × 2 h, and is counted, neither failed nor timed out; the queued one
    // holds nothing and is not counted.
    expect(report.rows).toEqual([
      {
        key: 'alice',
        gpuHours: 4,
        cpuHours: 4,
        jobs: 1,
        failed: 0,
        timeouts: 0,
        sharePercent: 100,
        bookedHours: 0,
        bookedIdleHours: 0,
      },
    ]);
  });
});

describe('collectUsageJobs', () => {
  const base: HistoryRecord = {
    id: '1234',
    user: 'alice',
    uid: 1000,
    project: { path: '/home/alice/proj', name: 'proj' },
    kind: 'run',
    command: 'train',
    request: { gpus: 1, cpus: 4, memoryMb: 1024 },
    grant: { gpus: [3], cpus: [0, 1], memoryMb: 1024 },
    submittedAt: '2026-03-05T09:00:00Z',
    startedAt: '2026-03-05T10:00:00Z',
    endedAt: '2026-03-05T11:00:00Z',
    ending: 'exited',
    exitCode: 0,
  };

  it('counts what was granted, once per job, and skips live entries already recorded', () => {
    // Given a job recorded twice (exited, then reaped after a crash) that is also still in the
    // ledger, and a record whose end time cannot be read,
    const reaped: HistoryRecord = { ...base, endedAt: '2026-03-05T12:00:00Z', ending: 'reaped' };
    const broken: HistoryRecord = { ...base, id: '9999', endedAt: 'x' };
    const live: JobEntry = {
      ...base,
      seq: 1,
      state: 'running',
      supervisor: { pid: 1, startTime: '1' },
    } as JobEntry;

    const jobs = collectUsageJobs([base, reaped, broken], [live], new Date('2026-03-05T13:00:00Z'));

    // Then one job remains, with the granted GPU and cores (not the request), as it first ended.
    expect(jobs).toEqual([
      {
        user: 'alice',
        uid: 1000,
        project: 'proj',
        gpus: 1,
        cpus: 2,
        startedAt: t('2026-03-05T10:00:00Z'),
        endedAt: t('2026-03-05T11:00:00Z'),
        ending: 'exited',
        exitCode: 0,
      },
    ]);
  });
});

describe('report helpers', () => {
  it('names ISO weeks, including those that straddle a year', () => {
    expect(isoWeekKey(t('2026-01-01T00:00:00Z'))).toBe('2026-W01'); // a Thursday
    expect(isoWeekKey(t('2027-01-01T12:00:00Z'))).toBe('2026-W53'); // a Friday
    expect(isoWeekKey(t('2025-12-29T00:00:00Z'))).toBe('2026-W01'); // a Monday
    expect(isoWeekKey(t('2026-03-08T23:59:59Z'))).toBe('2026-W10'); // a Sunday
    expect(isoWeekKey(t('2026-03-09T00:00:00Z'))).toBe('2026-W11');
    expect(new Date(startOfIsoWeek(t('2026-03-08T23:59:59Z'))).toISOString()).toBe(
      '2026-03-02T00:00:00.000Z',
    );
  });

  it('tells failures apart from other endings', () => {
    expect(isFailure({ ending: 'exited', exitCode: 0 })).toBe(false);
    expect(isFailure({ ending: 'exited', exitCode: 1 })).toBe(true);
    expect(isFailure({ ending: 'failed' })).toBe(true);
    expect(isFailure({ ending: 'killed', exitCode: 137 })).toBe(false);
    expect(isFailure({ ending: 'timeout', exitCode: 124 })).toBe(false);
  });

  it('reads the months of the window and the one after it, but none after now', () => {
    const window = { from: new Date('2026-01-10T00:00:00Z'), to: new Date('2026-02-10T00:00:00Z') };
    expect(reportMonths(window, new Date('2026-06-01T00:00:00Z'))).toEqual([
      '2026-01',
      '2026-02',
      '2026-03',
    ]);
    expect(reportMonths(window, new Date('2026-02-10T00:00:00Z'))).toEqual(['2026-01', '2026-02']);
  });
});

describe('reportWindow', () => {
  const now = new Date('2026-03-31T12:00:00Z');
  const iso = (flags: Parameters<typeof reportWindow>[0]) => {
    const window = reportWindow(flags, now);
    return [window.from.toISOString(), window.to.toISOString()];
  };

  it('is the last 30 days by default, or since a length of time or a date', () => {
    expect(iso({})).toEqual(['2026-03-01T12:00:00.000Z', '2026-03-31T12:00:00.000Z']);
    expect(iso({ since: '7d' })).toEqual(['2026-03-24T12:00:00.000Z', '2026-03-31T12:00:00.000Z']);
    expect(iso({ since: '2026-03-30T00:00:00Z' })[0]).toBe('2026-03-30T00:00:00.000Z');
  });

  it('runs from --from to --to, now when --to is not given, 30 days before --to without --from', () => {
    expect(iso({ from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' })).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-08T00:00:00.000Z',
    ]);
    expect(iso({ from: '2026-03-01T00:00:00Z' })[1]).toBe(now.toISOString());
    expect(iso({ to: '2026-03-31T00:00:00Z' })[0]).toBe('2026-03-01T00:00:00.000Z');
  });

  it('names the flags when they cannot be used', () => {
    expect(() => reportWindow({ since: '7d', from: '2026-03-01' }, now)).toThrow(
      '--since cannot be combined with --from or --to',
    );
    expect(() => reportWindow({ from: '2026-03-08T00:00Z', to: '2026-03-01T00:00Z' }, now)).toThrow(
      /^--from \(2026-03-08T00:00:00.000Z\) must be before --to/,
    );
    expect(() => reportWindow({ from: 'last monday' }, now)).toThrow(UsageError);
    expect(() => reportWindow({ from: 'last monday' }, now)).toThrow('--from: "last monday"');
    expect(() => reportWindow({ to: '2026-02-30' }, now)).toThrow('--to: "2026-02-30"');
    expect(() => reportWindow({ since: 'a while' }, now)).toThrow('--since: "a while"');
    expect(() => reportWindow({ since: '+1h' }, now)).toThrow(/must be before now/);
  });
});

describe('booked hours', () => {
  const booking = (
    user: string,
    uid: number,
    start: string,
    end: string,
    idle: boolean,
  ): UsageBooking => ({ user, uid, gpus: 2, cpus: 8, start: t(start), end: t(end), idle });

  it('counts booked GPU-hours clipped to the window, and those of bookings left idle', () => {
    // alice's 2-GPU booking was used for 4 h; bob's was released idle after 30 min, and half of
    // a third lies before the window.
    const bookings = [
      booking('alice', 1000, '2026-03-03T09:00:00Z', '2026-03-03T13:00:00Z', false),
      booking('bob', 1001, '2026-03-04T09:00:00Z', '2026-03-04T09:30:00Z', true),
      booking('bob', 1001, '2026-03-01T23:00:00Z', '2026-03-02T01:00:00Z', false),
    ];
    const jobs = [job('alice', '2026-03-03T10:00:00Z', '2026-03-03T12:00:00Z', { gpus: 2 })];

    const report = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ROOT, bookings });

    const byUser = new Map(report.rows.map((row) => [row.key, row]));
    expect(byUser.get('alice')).toMatchObject({ bookedHours: 8, bookedIdleHours: 0 });
    expect(byUser.get('bob')).toMatchObject({ bookedHours: 1 + 2, bookedIdleHours: 1 });
    expect(report.total).toMatchObject({ bookedHours: 11, bookedIdleHours: 1 });
    // A plain user sees their own row, and everyone's bookings in the totals.
    const mine = buildUsageReport(jobs, { window: WEEK, by: 'user', viewer: ALICE, bookings });
    expect(mine.rows.map((row) => row.key)).toEqual(['alice']);
    expect(mine.total.bookedHours).toBe(11);
  });
});
