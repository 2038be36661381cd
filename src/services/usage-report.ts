/**
 * `rp report`: GPU- and CPU-hours per user, project or week over a window, from the history's
 * months that the window needs and the jobs running now (src/core/usage-report.ts does the sums).
 */
import {
  buildUsageReport,
  collectUsageJobs,
  reportMonths,
  type ReportGrouping,
  type UsageReport,
  type UsageViewer,
  type UsageWindow,
} from '../core/usage-report.js';
import { readHistory } from '../ledger/history.js';
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
  const live = (await session.store.read()).jobs;
  const history = await readHistory(
    session.store.paths.history,
    reportMonths(options.window, options.now),
  );
  const jobs = collectUsageJobs(history.records, live, options.now);
  return buildUsageReport(jobs, options);
}
