/**
 * `rp report` as a table, CSV or JSON. The three share the column names of the issue that asked
 * for them (gpu_hours, share_%, ...), so a script written against the CSV reads the JSON too.
 */
import { stringify } from 'csv-stringify/sync';
import { formatLocalTime } from './history-table.js';
import { renderTable } from './tables.js';

/** What the report says (src/core/usage-report.ts's UsageReport fits). */
export interface ReportView {
  from: string;
  to: string;
  by: 'user' | 'project' | 'week';
  shareOf: 'gpu_hours' | 'cpu_hours';
  rows: readonly ReportRowView[];
  total: ReportRowView;
}

export interface ReportRowView {
  key: string;
  gpuHours: number;
  cpuHours: number;
  jobs: number;
  failed: number;
  timeouts: number;
  sharePercent: number;
  bookedHours: number;
  bookedIdleHours: number;
}

export const REPORT_FORMATS = ['table', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const COLUMNS = [
  'gpu_hours',
  'cpu_hours',
  'jobs',
  'failed',
  'timeouts',
  'booked_hours',
  'booked_idle_hours',
  'share_%',
] as const;

/** The key column holds "total" on the totals row. */
export const TOTAL_LABEL = 'total';

/** One row with the report's column names, hours to 4 decimals (0.36 s), shares to 2. */
function record(by: string, row: ReportRowView): Record<string, string | number> {
  return {
    [by]: row.key,
    gpu_hours: round(row.gpuHours, 4),
    cpu_hours: round(row.cpuHours, 4),
    jobs: row.jobs,
    failed: row.failed,
    timeouts: row.timeouts,
    booked_hours: round(row.bookedHours, 4),
    booked_idle_hours: round(row.bookedIdleHours, 4),
    'share_%': round(row.sharePercent, 2),
  };
}

/** `--format json`: the window, what shares are of, the rows and the totals. */
export function reportJson(report: ReportView): object {
  return {
    from: report.from,
    to: report.to,
    by: report.by,
    share_of: report.shareOf,
    rows: report.rows.map((row) => record(report.by, row)),
    total: record(report.by, { ...report.total, key: TOTAL_LABEL }),
  };
}

/** `--format csv`: a header line, the rows, then the totals row. */
export function reportCsv(report: ReportView): string {
  const rows = [...report.rows, { ...report.total, key: TOTAL_LABEL }].map((entry) =>
    record(report.by, entry),
  );
  return stringify(rows, { header: true, columns: [report.by, ...COLUMNS] });
}

/** `--format table`, for people: what the window is, then the rows and the totals. */
export function renderReportTable(report: ReportView): string[] {
  const basis = report.shareOf === 'gpu_hours' ? 'GPU-hours' : 'CPU-hours (no GPU was used)';
  const cells = (entry: ReportRowView): string[] => [
    entry.key,
    entry.gpuHours.toFixed(2),
    entry.cpuHours.toFixed(2),
    String(entry.jobs),
    String(entry.failed),
    String(entry.timeouts),
    entry.bookedHours.toFixed(2),
    entry.bookedIdleHours.toFixed(2),
    entry.sharePercent.toFixed(1),
  ];
  return [
    `From ${formatLocalTime(report.from)} to ${formatLocalTime(report.to)}; share_% is of all ${basis} in that time, and booked hours are ${report.shareOf === 'gpu_hours' ? 'GPU-hours' : 'CPU-hours'}.`,
    '',
    ...renderTable(
      [
        { header: report.by.toUpperCase() },
        ...COLUMNS.map((name) => ({ header: name.toUpperCase(), align: 'right' as const })),
      ],
      [...report.rows.map(cells), cells({ ...report.total, key: TOTAL_LABEL })],
    ),
  ];
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
