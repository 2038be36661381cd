import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { countFlag } from '../cli/flags.js';
import { parseSince, SINCE_FORMS } from '../core/dates.js';
import { UsageError } from '../core/errors.js';
import { DEFAULT_HISTORY_LIMIT } from '../core/history-listing.js';
import { currentUser } from '../host/identity.js';
import { systemClock } from '../host/clock.js';
import { rpHomeFromEnv } from '../services/host-files.js';
import { listHistory } from '../services/job-history.js';
import { noHistoryLine, renderHistory } from '../ui/history-table.js';

export class History extends BaseCommand {
  static override description =
    "List the jobs that finished on this host, newest first: how each ended, its exit code, what it held and for how long. Your own jobs unless told otherwise; the history of a shared host is not secret, as rp ps shows everyone's jobs.";

  static override examples = [
    '<%= config.bin %> history',
    '<%= config.bin %> history --since 7d --limit 100',
    '<%= config.bin %> history --all --since 2026-03-01 --json',
    '<%= config.bin %> history --user alice',
  ];

  static override flags = {
    user: Flags.string({ description: "this user's jobs (default: your own)", exclusive: ['all'] }),
    all: Flags.boolean({ description: "everyone's jobs", default: false, exclusive: ['user'] }),
    since: Flags.string({
      description: 'jobs that ended since then: 7d, 12h, or a date-time such as 2026-03-01',
      helpValue: '<WHEN>',
    }),
    limit: countFlag({
      description: `at most this many, the newest (default ${DEFAULT_HISTORY_LIMIT})`,
      default: DEFAULT_HISTORY_LIMIT,
    }),
    json: Flags.boolean({
      description: 'print an array of jobs as JSON (ISO times, ms, MiB, id arrays)',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(History);
    const now = systemClock.now();
    const since = flags.since === undefined ? undefined : parseSince(flags.since, now);
    if (flags.since !== undefined && since === undefined) {
      throw new UsageError(`--since: "${flags.since}" is not a time`, {
        hint: `use ${SINCE_FORMS}`,
      });
    }
    const user = flags.all ? undefined : (flags.user ?? currentUser().name);
    const filter = { user, since, limit: flags.limit };
    const jobs = await listHistory(rpHomeFromEnv(process.env), { ...filter, now });
    if (flags.json) {
      this.log(JSON.stringify(jobs, null, 2));
      return;
    }
    if (jobs.length === 0) {
      process.stderr.write(`${noHistoryLine(filter)}\n`);
      return;
    }
    for (const line of renderHistory(jobs)) this.log(line);
  }
}
