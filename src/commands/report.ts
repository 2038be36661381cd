import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { UsageError } from '../core/errors.js';
import { DEFAULT_REPORT_SINCE, REPORT_GROUPINGS, reportWindow } from '../core/usage-report.js';
import { connectDocker } from '../docker/engine.js';
import { systemClock } from '../host/clock.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import { usageReport } from '../services/usage-report.js';
import { renderReportTable, REPORT_FORMATS, reportCsv, reportJson } from '../ui/usage-report.js';

export class Report extends BaseCommand {
  static override description =
    "Sum up who used this host: GPU-hours, CPU-hours, jobs, failures and timeouts per user, project or week, and each row's share of the GPU-hours. Running jobs count up to now. You see your own rows and everyone's totals; root sees every row.";

  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --since 7d --by project',
    '<%= config.bin %> report --from 2026-03-01 --to 2026-04-01 --by week --format csv',
  ];

  static override flags = {
    since: Flags.string({
      description: `from then until now: 30d, 12h, or a date-time (default ${DEFAULT_REPORT_SINCE})`,
      helpValue: '<WHEN>',
    }),
    from: Flags.string({
      description: 'the start of the window: 2026-03-01, "2026-03-01 08:00", ISO 8601',
      helpValue: '<DATE>',
    }),
    to: Flags.string({ description: 'the end of the window (default: now)', helpValue: '<DATE>' }),
    by: Flags.option({
      description: 'one row per user, project or ISO week (Monday to Sunday, UTC)',
      options: REPORT_GROUPINGS,
      default: 'user' as const,
    })(),
    format: Flags.option({
      description: 'table for people, csv or json for scripts (default table)',
      options: REPORT_FORMATS,
    })(),
    json: Flags.boolean({ description: 'the same as --format json', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Report);
    if (flags.json && flags.format !== undefined && flags.format !== 'json') {
      throw new UsageError(`--json cannot be combined with --format ${flags.format}`);
    }
    const format = flags.json ? 'json' : (flags.format ?? 'table');
    const now = systemClock.now();
    const window = reportWindow(flags, now);
    // No ping: a report should show even when Docker does not answer (reaping then waits).
    const session = await openHostSession(await connectDocker(), systemClock);
    const uid = currentUser().uid;
    const report = await usageReport(session, {
      window,
      by: flags.by,
      viewer: { uid, everyone: uid === 0 },
      now,
    });
    if (format === 'json') this.log(JSON.stringify(reportJson(report), null, 2));
    else if (format === 'csv') process.stdout.write(reportCsv(report));
    else for (const line of renderReportTable(report)) this.log(line);
  }
}
