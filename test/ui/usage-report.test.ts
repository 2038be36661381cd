import { describe, expect, it } from 'vitest';
import { formatLocalTime } from '../../src/ui/history-table.js';
import {
  renderReportTable,
  reportCsv,
  reportJson,
  type ReportView,
} from '../../src/ui/usage-report.js';

const report: ReportView = {
  from: '2026-03-01T00:00:00.000Z',
  to: '2026-03-31T00:00:00.000Z',
  by: 'user',
  shareOf: 'gpu_hours',
  rows: [
    {
      key: 'alice, jr',
      gpuHours: 2 / 3,
      cpuHours: 10,
      jobs: 3,
      failed: 1,
      timeouts: 1,
      sharePercent: 200 / 3,
      bookedHours: 8,
      bookedIdleHours: 0,
    },
  ],
  total: {
    key: 'total',
    gpuHours: 1,
    cpuHours: 12.5,
    jobs: 4,
    failed: 1,
    timeouts: 1,
    sharePercent: 100,
    bookedHours: 10,
    bookedIdleHours: 2,
  },
};

describe('the report', () => {
  it('as CSV: the columns asked for, quoted where needed, then the totals', () => {
    expect(reportCsv(report)).toBe(
      [
        'user,gpu_hours,cpu_hours,jobs,failed,timeouts,booked_hours,booked_idle_hours,share_%',
        '"alice, jr",0.6667,10,3,1,1,8,0,66.67',
        'total,1,12.5,4,1,1,10,2,100',
        '',
      ].join('\n'),
    );
  });

  it('as JSON: the window, what shares are of, the rows and the totals', () => {
    expect(reportJson(report)).toEqual({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-03-31T00:00:00.000Z',
      by: 'user',
      share_of: 'gpu_hours',
      rows: [
        {
          user: 'alice, jr',
          gpu_hours: 0.6667,
          cpu_hours: 10,
          jobs: 3,
          failed: 1,
          timeouts: 1,
          booked_hours: 8,
          booked_idle_hours: 0,
          'share_%': 66.67,
        },
      ],
      total: {
        user: 'total',
        gpu_hours: 1,
        cpu_hours: 12.5,
        jobs: 4,
        failed: 1,
        timeouts: 1,
        booked_hours: 10,
        booked_idle_hours: 2,
        'share_%': 100,
      },
    });
  });

  it('as a table: says what the shares are of, then the rows', () => {
    expect(renderReportTable({ ...report, shareOf: 'cpu_hours' })).toEqual([
      `From ${formatLocalTime(report.from)} to ${formatLocalTime(report.to)}; share_% is of all CPU-hours (no GPU was used) in that time, and booked hours are CPU-hours.`,
      '',
      'USER       GPU_HOURS  CPU_HOURS  JOBS  FAILED  TIMEOUTS  BOOKED_HOURS  BOOKED_IDLE_HOURS  SHARE_%',
      'alice, jr       0.67      10.00     3       1         1          8.00               0.00     66.7',
      'total           1.00      12.50     4       1         1         10.00               2.00    100.0',
    ]);
  });
});
