/**
 * `rp report`: GPU- and CPU-hours per user, project or week over a window, from the history's
 * months that the window needs and the jobs running now (src/core/usage-report.ts does the sums).
 */
import {
  buildUsageReport,
  collectUsageJobs,
  reportMonths,
  usageBookingFromLedger,
  usageBookingFromRecord,
  type ReportGrouping,
  type UsageReport,
  type UsageViewer,
  type UsageWindow,
} from '../core/usage-report.js';
import { readBookingHistory, readHistory } from '../ledger/history.js';
import type { LedgerStore } from '../ledger/store.js';
import type { HostSession } from './host-session.js';
import { reapQuietly } from './reap-quietly.js';

export interface UsageReportOptions {
  window: UsageWindow;
  by: ReportGrouping;
  viewer: UsageViewer;
  now: Date;
}

/** What the report needs of a host session (a HostSession fits). */
export interface ReportSession {
  store: Pick<LedgerStore, 'read' | 'paths'>;
  reap: HostSession['reap'];
}

export async function usageReport(
  session: ReportSession,
  options: UsageReportOptions,
): Promise<UsageReport> {
  // A job whose supervisor died would otherwise count as running up to now, forever.
  await reapQuietly(session);
  // The ledger before the history: a job that ends in between is then in both, and counted once,
  // rather than in neither.
  const ledger = await session.store.read();
  const months = reportMonths(options.window, options.now);
  const history = await readHistory(session.store.paths.history, months);
  const jobs = collectUsageJobs(history.records, ledger.jobs, options.now);
  const bookings = [
    ...(await readBookingHistory(session.store.paths.bookingHistory, months)).map(
      usageBookingFromRecord,
    ),
    ...(ledger.bookings ?? []).map((booking) => usageBookingFromLedger(booking, options.now)),
  ];
  return buildUsageReport(jobs, { ...options, bookings });
}
