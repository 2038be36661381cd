/** `rp history` for people: one line per finished job, newest first. */
import { formatLocalTime } from '../core/dates.js';
import { formatIdRanges } from '../core/units.js';
import { formatDuration, renderTable } from './tables.js';

/** What the table shows of a finished job (src/services/job-history.ts's view fits). */
export interface FinishedJobRow {
  id: string;
  user: string;
  project: string;
  ending: string;
  exitCode: number | null;
  request: { gpus: number; cpus: number };
  grant: { gpus: readonly number[]; cpus: readonly number[] } | null;
  startedAt: string | null;
  elapsedMs: number | null;
  command: string;
}

/** Long commands are cut here; `--json` has them whole. */
const COMMAND_WIDTH = 50;

export function renderHistory(jobs: readonly FinishedJobRow[]): string[] {
  return renderTable(
    [
      { header: 'JOB' },
      { header: 'USER' },
      { header: 'PROJECT' },
      { header: 'ENDING' },
      { header: 'EXIT', align: 'right' },
      { header: 'GPUS' },
      { header: 'CPUS', align: 'right' },
      { header: 'STARTED' },
      { header: 'ELAPSED', align: 'right' },
      { header: 'COMMAND' },
    ],
    jobs.map((job) => [
      job.id,
      job.user,
      job.project,
      job.ending,
      job.exitCode === null ? '-' : String(job.exitCode),
      job.grant === null || job.grant.gpus.length === 0 ? '-' : formatIdRanges(job.grant.gpus),
      job.grant === null ? '-' : String(job.grant.cpus.length),
      job.startedAt === null ? 'never' : formatLocalTime(job.startedAt),
      job.elapsedMs === null ? '-' : formatDuration(job.elapsedMs),
      cut(job.command, COMMAND_WIDTH),
    ]),
  );
}

/** What `rp history` says on stderr when nothing matches. */
export function noHistoryLine(filter: { user?: string; since?: Date }): string {
  const whose = filter.user === undefined ? '' : ` of ${filter.user}`;
  const since = filter.since === undefined ? '' : ` since ${formatLocalTime(filter.since)}`;
  return `No finished jobs${whose}${since}.`;
}

export { formatLocalTime };

function cut(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  const chars = [...oneLine];
  return chars.length <= width ? oneLine : `${chars.slice(0, width - 1).join('')}…`;
}
