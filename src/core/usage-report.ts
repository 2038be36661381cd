/**
 * `rp report`'s arithmetic, pure: which jobs count in a window, their GPU- and CPU-hours clipped
 * to it, the rows they fall in (by user, project or ISO week) and each row's share.
 *
 * - GPU-hours: GPUs granted × the time between the job's start and its end, clipped to the window;
 *   CPU-hours the same with cores. A job that never started has none.
 * - A running job (from the ledger) counts up to `now`.
 * - `jobs`: jobs that ran in the window or ended in it (a job cancelled while queued counts, with
 *   no hours); `failed`: ended 'failed', or exited with a non-zero code; `timeouts`: stopped at
 *   their time limit.
 * - `share_%`: a row's part of the window's GPU-hours, of everyone's jobs; of its CPU-hours when
 *   no GPU was used in the window.
 * - A plain user's rows count only their own jobs; the totals always count everyone's.
 */
import { DATE_TIME_FORMS, parseDateTime, parseSince, SINCE_FORMS } from './dates.js';
import { UsageError } from './errors.js';
import { dedupeHistory, historyKey, monthsBetween, startOfNextMonth } from './history-months.js';
import type { Booking, BookingRecord, HistoryRecord, JobEnding, JobEntry } from './ledger-state.js';

export const REPORT_GROUPINGS = ['user', 'project', 'week'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
const MS_PER_WEEK = 7 * MS_PER_DAY;

/** The window a report covers: [from, to]. */
export interface UsageWindow {
  from: Date;
  to: Date;
}

/** One job as the report counts it: finished (a history record) or running (a ledger entry). */
export interface UsageJob {
  user: string;
  uid: number;
  project: string;
  gpus: number;
  cpus: number;
  /** Epoch ms; absent when the job never started. */
  startedAt?: number;
  /** Epoch ms: when it ended, or `now` for a running job. */
  endedAt: number;
  ending: JobEnding | 'running';
  exitCode?: number;
}

/** Who asks: root (or an explicit everyone) sees every row, anyone else only their own. */
export interface UsageViewer {
  uid: number;
  everyone: boolean;
}

/** Which total `share_%` divides by. */
export type ShareBasis = 'gpu_hours' | 'cpu_hours';

export interface UsageRow {
  /** The user, the project's name, or the ISO week ("2026-W10"); "total" for the totals. */
  key: string;
  gpuHours: number;
  cpuHours: number;
  jobs: number;
  failed: number;
  timeouts: number;
  /** 0-100: the row's part of the window's GPU-hours (or CPU-hours, see shareOf). */
  sharePercent: number;
  /** Booked in the window, in the unit of the share (GPU-hours, or CPU-hours). */
  bookedHours: number;
  /** Of that, booked by bookings no job of their user ever used (released idle). */
  bookedIdleHours: number;
}

/** A booking as the report counts it: who, how much, and when it was in force. */
export interface UsageBooking {
  user: string;
  uid: number;
  gpus: number;
  cpus: number;
  /** Epoch ms: its start, and when it stopped being in force (its end, release or cancel). */
  start: number;
  end: number;
  /** No job of its user ever held resources during it. */
  idle: boolean;
}

/** A booking of the booking history, as the report counts it. */
export function usageBookingFromRecord(record: BookingRecord): UsageBooking {
  const start = Date.parse(record.start);
  return {
    user: record.user,
    uid: record.uid,
    gpus: record.request.gpus,
    cpus: record.request.cpus,
    start,
    end: Math.max(start, Math.min(Date.parse(record.end), Date.parse(record.endedAt))),
    idle: record.usedAt === undefined && record.ending !== 'used',
  };
}

/** A booking still in the ledger, counted up to `now` (nothing before it starts). */
export function usageBookingFromLedger(booking: Booking, now: Date): UsageBooking {
  const start = Date.parse(booking.start);
  return {
    user: booking.user,
    uid: booking.uid,
    gpus: booking.request.gpus,
    cpus: booking.request.cpus,
    start,
    end: Math.max(start, Math.min(Date.parse(booking.end), now.getTime())),
    idle: false,
  };
}

export interface UsageReport {
  /** ISO times. */
  from: string;
  to: string;
  by: ReportGrouping;
  shareOf: ShareBasis;
  /** Only the viewer's own, unless the viewer sees everyone. */
  rows: UsageRow[];
  /** Every job of the window, whoever the viewer. */
  total: UsageRow;
}

export const TOTAL_KEY = 'total';

// ---------------------------------------------------------------------------------------------
// The jobs

/** A finished job as the report counts it; undefined when its end time cannot be read. */
export function usageJobFromRecord(record: HistoryRecord): UsageJob | undefined {
  const endedAt = Date.parse(record.endedAt);
  if (Number.isNaN(endedAt)) return undefined;
  const startedAt = record.startedAt === undefined ? Number.NaN : Date.parse(record.startedAt);
  return {
    user: record.user,
    uid: record.uid,
    project: record.project.name,
    gpus: record.grant?.gpus.length ?? record.request.gpus,
    cpus: record.grant?.cpus.length ?? record.request.cpus,
    ...(Number.isNaN(startedAt) ? {} : { startedAt }),
    endedAt,
    ending: record.ending,
    ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
  };
}

/** A running job of the ledger, counted up to `now`; undefined for one that has not started. */
export function usageJobFromEntry(job: JobEntry, now: Date): UsageJob | undefined {
  if (job.state !== 'running' || job.startedAt === undefined || job.grant === undefined) {
    return undefined;
  }
  const startedAt = Date.parse(job.startedAt);
  if (Number.isNaN(startedAt)) return undefined;
  return {
    user: job.user,
    uid: job.uid,
    project: job.project.name,
    gpus: job.grant.gpus.length,
    cpus: job.grant.cpus.length,
    startedAt,
    endedAt: Math.max(startedAt, now.getTime()),
    ending: 'running',
  };
}

/**
 * Every job a report counts: the finished ones once each (see dedupeHistory), and the running
 * ones that are not also in the history (a crash between the history append and the ledger
 * write leaves a job in both).
 */
export function collectUsageJobs(
  records: readonly HistoryRecord[],
  live: readonly JobEntry[],
  now: Date,
): UsageJob[] {
  const finished = dedupeHistory(records);
  const recorded = new Set(finished.map(historyKey));
  const jobs: UsageJob[] = [];
  for (const record of finished) {
    const job = usageJobFromRecord(record);
    if (job) jobs.push(job);
  }
  for (const entry of live) {
    if (recorded.has(historyKey(entry))) continue;
    const job = usageJobFromEntry(entry, now);
    if (job) jobs.push(job);
  }
  return jobs;
}

/**
 * The months of history a report of `window` reads: those the window overlaps, and the month
 * after it (up to `now`), for the jobs that ran in the window but ended after it. A job that ran
 * across the window's end and ended later than that is not seen.
 */
export function reportMonths(window: UsageWindow, now: Date): string[] {
  const afterNext = startOfNextMonth(startOfNextMonth(window.to)).getTime() - 1;
  const last = Math.max(window.from.getTime(), Math.min(afterNext, now.getTime()));
  return monthsBetween(window.from, new Date(Math.max(last, window.to.getTime())));
}

// ---------------------------------------------------------------------------------------------
// The sums

/** A job that ended 'failed', or exited with a non-zero code. */
export function isFailure(job: Pick<UsageJob, 'ending' | 'exitCode'>): boolean {
  return job.ending === 'failed' || (job.ending === 'exited' && (job.exitCode ?? 0) !== 0);
}

/** Milliseconds of [start, end] inside [from, to]. */
export function overlapMs(start: number, end: number, from: number, to: number): number {
  return Math.max(0, Math.min(end, to) - Math.max(start, from));
}

/** The ISO week of an instant, UTC: "2026-W01" (weeks start on Monday; week 1 holds a Thursday). */
export function isoWeekKey(at: number): string {
  const day = Math.floor(at / MS_PER_DAY) * MS_PER_DAY;
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(day + (3 - weekday) * MS_PER_DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / MS_PER_WEEK);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The Monday 00:00 UTC that starts `at`'s ISO week. */
export function startOfIsoWeek(at: number): number {
  const day = Math.floor(at / MS_PER_DAY) * MS_PER_DAY;
  return day - ((new Date(day).getUTCDay() + 6) % 7) * MS_PER_DAY;
}

export interface UsageReportOptions {
  window: UsageWindow;
  by: ReportGrouping;
  viewer: UsageViewer;
  /** Bookings to count (booked hours); they belong to users, so project rows show none. */
  bookings?: readonly UsageBooking[];
}

interface Sums {
  gpuMs: number;
  cpuMs: number;
  jobs: number;
  failed: number;
  timeouts: number;
  booked: { gpuMs: number; cpuMs: number };
  idle: { gpuMs: number; cpuMs: number };
}

const emptySums = (): Sums => ({
  gpuMs: 0,
  cpuMs: 0,
  jobs: 0,
  failed: 0,
  timeouts: 0,
  booked: { gpuMs: 0, cpuMs: 0 },
  idle: { gpuMs: 0, cpuMs: 0 },
});

/** The report of `jobs` over `window`, grouped `by`, as `viewer` may see it. */
export function buildUsageReport(
  jobs: readonly UsageJob[],
  options: UsageReportOptions,
): UsageReport {
  const from = options.window.from.getTime();
  const to = options.window.to.getTime();
  const rows = new Map<string, Sums>();
  if (options.by === 'week') {
    // Every week of the window has a row, used or not, so weekly reports line up.
    for (let week = startOfIsoWeek(from); week < Math.max(to, from + 1); week += MS_PER_WEEK) {
      rows.set(isoWeekKey(week), emptySums());
    }
  }
  const total = emptySums();
  const row = (key: string): Sums => {
    const found = rows.get(key);
    if (found) return found;
    const made = emptySums();
    rows.set(key, made);
    return made;
  };

  for (const job of jobs) {
    const start = job.startedAt ?? job.endedAt;
    const ranMs = job.startedAt === undefined ? 0 : overlapMs(start, job.endedAt, from, to);
    const endedInWindow = job.ending !== 'running' && job.endedAt >= from && job.endedAt <= to;
    if (ranMs <= 0 && !endedInWindow) continue;
    addCounts(total, job);
    addTime(total, job, ranMs);
    if (!options.viewer.everyone && job.uid !== options.viewer.uid) continue;
    if (options.by !== 'week') {
      const sums = row(options.by === 'user' ? job.user : job.project);
      addCounts(sums, job);
      addTime(sums, job, ranMs);
      continue;
    }
    // By week, the hours go to the weeks they were used in, and the job is counted once: in the
    // week where its time in the window ends.
    const countAt = Math.max(Math.min(job.endedAt, to) - (ranMs > 0 ? 1 : 0), from);
    addCounts(row(isoWeekKey(countAt)), job);
    if (ranMs > 0) {
      for (const [key, ms] of weekSlices(start, job.endedAt, from, to)) addTime(row(key), job, ms);
    }
  }

  for (const booking of options.bookings ?? []) {
    const bookedMs = overlapMs(booking.start, booking.end, from, to);
    if (bookedMs <= 0) continue;
    addBooked(total, booking, bookedMs);
    if (!options.viewer.everyone && booking.uid !== options.viewer.uid) continue;
    if (options.by === 'user') addBooked(row(booking.user), booking, bookedMs);
    if (options.by === 'week') {
      for (const [key, ms] of weekSlices(booking.start, booking.end, from, to)) {
        addBooked(row(key), booking, ms);
      }
    }
  }

  const shareOf: ShareBasis =
    total.gpuMs > 0 || (total.cpuMs === 0 && total.booked.gpuMs > 0) ? 'gpu_hours' : 'cpu_hours';
  const inBasis = (ms: { gpuMs: number; cpuMs: number }): number =>
    (shareOf === 'gpu_hours' ? ms.gpuMs : ms.cpuMs) / MS_PER_HOUR;
  const basis = shareOf === 'gpu_hours' ? total.gpuMs : total.cpuMs;
  const toRow = (key: string, sums: Sums): UsageRow => ({
    key,
    gpuHours: sums.gpuMs / MS_PER_HOUR,
    cpuHours: sums.cpuMs / MS_PER_HOUR,
    jobs: sums.jobs,
    failed: sums.failed,
    timeouts: sums.timeouts,
    sharePercent:
      basis > 0 ? ((shareOf === 'gpu_hours' ? sums.gpuMs : sums.cpuMs) / basis) * 100 : 0,
    bookedHours: inBasis(sums.booked),
    bookedIdleHours: inBasis(sums.idle),
  });
  const list = [...rows].map(([key, sums]) => toRow(key, sums));
  list.sort(options.by === 'week' ? (a, b) => compareText(a.key, b.key) : byUsage);
  return {
    from: options.window.from.toISOString(),
    to: options.window.to.toISOString(),
    by: options.by,
    shareOf,
    rows: list,
    total: toRow(TOTAL_KEY, total),
  };
}

function addCounts(sums: Sums, job: UsageJob): void {
  sums.jobs += 1;
  if (isFailure(job)) sums.failed += 1;
  if (job.ending === 'timeout') sums.timeouts += 1;
}

function addBooked(sums: Sums, booking: UsageBooking, ms: number): void {
  sums.booked.gpuMs += booking.gpus * ms;
  sums.booked.cpuMs += booking.cpus * ms;
  if (booking.idle) {
    sums.idle.gpuMs += booking.gpus * ms;
    sums.idle.cpuMs += booking.cpus * ms;
  }
}

function addTime(sums: Sums, job: UsageJob, ms: number): void {
  sums.gpuMs += job.gpus * ms;
  sums.cpuMs += job.cpus * ms;
}

/** [week, ms] for each ISO week that [start, end] ∩ [from, to] touches. */
function weekSlices(start: number, end: number, from: number, to: number): Array<[string, number]> {
  const slices: Array<[string, number]> = [];
  const first = Math.max(start, from);
  const last = Math.min(end, to);
  for (let week = startOfIsoWeek(first); week < last; week += MS_PER_WEEK) {
    const ms = overlapMs(first, last, week, week + MS_PER_WEEK);
    if (ms > 0) slices.push([isoWeekKey(week), ms]);
  }
  return slices;
}

/** Most GPU-hours first, then CPU-hours, then jobs, then by name. */
function byUsage(a: UsageRow, b: UsageRow): number {
  return (
    b.gpuHours - a.gpuHours ||
    b.cpuHours - a.cpuHours ||
    b.jobs - a.jobs ||
    compareText(a.key, b.key)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The window, from the command line

/** The window when none is given: the last 30 days. */
export const DEFAULT_REPORT_DAYS = 30;
export const DEFAULT_REPORT_SINCE = `${DEFAULT_REPORT_DAYS}d`;

export interface WindowFlags {
  since?: string;
  from?: string;
  to?: string;
}

/**
 * The window the flags name: `--since` (a length of time ago, or a date-time; 30d by default) up
 * to now, or `--from` to `--to` (now by default; 30 days before `--to` when only it is given).
 * Throws a UsageError naming the flag and the forms it takes.
 */
export function reportWindow(flags: WindowFlags, now: Date): UsageWindow {
  if (flags.since !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new UsageError('--since cannot be combined with --from or --to', {
      hint: 'give either --since 30d, or --from DATE [--to DATE]',
    });
  }
  if (flags.from === undefined && flags.to === undefined) {
    const since = flags.since ?? DEFAULT_REPORT_SINCE;
    const from = parseSince(since, now);
    if (from === undefined) {
      throw new UsageError(`--since: "${since}" is not a time`, { hint: `use ${SINCE_FORMS}` });
    }
    return checked({ from, to: now }, '--since', 'now');
  }
  const to = flags.to === undefined ? now : dateFlag('--to', flags.to, now);
  const from =
    flags.from === undefined
      ? new Date(to.getTime() - DEFAULT_REPORT_DAYS * MS_PER_DAY)
      : dateFlag('--from', flags.from, now);
  return checked({ from, to }, '--from', '--to');
}

function dateFlag(flag: string, text: string, now: Date): Date {
  const at = parseDateTime(text, now);
  if (at === undefined) {
    throw new UsageError(`${flag}: "${text}" is not a date or time`, {
      hint: `use ${DATE_TIME_FORMS}`,
    });
  }
  return at;
}

function checked(window: UsageWindow, fromFlag: string, toFlag: string): UsageWindow {
  if (window.from.getTime() >= window.to.getTime()) {
    throw new UsageError(
      `${fromFlag} (${window.from.toISOString()}) must be before ${toFlag} (${window.to.toISOString()})`,
    );
  }
  return window;
}
