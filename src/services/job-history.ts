/**
 * `rp history`: the jobs that finished on this host, newest first, as plain view data (ISO times,
 * ids as arrays, durations in ms) that `--json` prints and src/ui/history-table.ts lays out.
 *
 * With `since`, only the months from then to now are read; without, the months are read newest
 * first until they hold `limit` jobs.
 */
import { monthsBetween } from '../core/history-months.js';
import { enoughHistory, selectHistory, type HistoryFilter } from '../core/history-listing.js';
import {
  jobLabel,
  listedProject,
  type HistoryRecord,
  type JobEnding,
  type JobKind,
} from '../core/ledger-state.js';
import { historyNewestFirst, readHistory } from '../ledger/history.js';
import { ledgerPaths } from '../ledger/paths.js';
import { hostPaths, readConfigText } from './host-files.js';

/** One finished job, as `rp history --json` prints it. */
export interface FinishedJobView {
  /** As users type it: "1234", or "1234_7" for task 7 of array 1234. */
  id: string;
  /** The array's task index; null for a job of its own. */
  task: number | null;
  user: string;
  uid: number;
  project: string;
  projectPath: string;
  /** A drop-folder job's activity and input file; null for any other job. */
  activity: { name: string; input: string } | null;
  kind: JobKind;
  command: string;
  ending: JobEnding;
  exitCode: number | null;
  /** What it asked for. */
  request: { gpus: number; cpus: number; memoryMb: number };
  /** What it was given (GPU indices, core ids, MiB); null when it never was. */
  grant: { gpus: number[]; cpus: number[]; memoryMb: number } | null;
  submittedAt: string;
  startedAt: string | null;
  endedAt: string;
  /** From start to end; null when it never started. */
  elapsedMs: number | null;
  logFile: string | null;
}

export interface HistoryListingOptions extends HistoryFilter {
  now: Date;
}

export async function listHistory(
  rpHome: string,
  options: HistoryListingOptions,
): Promise<FinishedJobView[]> {
  // A host that is not set up says so, with what to run, rather than showing an empty history.
  await readConfigText(hostPaths(rpHome));
  const paths = ledgerPaths(rpHome).history;
  if (options.since !== undefined) {
    const { records } = await readHistory(paths, monthsBetween(options.since, options.now));
    return selectHistory(records, options).map(finishedJobView);
  }
  const records: HistoryRecord[] = [];
  for await (const month of historyNewestFirst(paths)) {
    records.push(...month.records);
    if (enoughHistory(records, options)) break;
  }
  return selectHistory(records, options).map(finishedJobView);
}

export function finishedJobView(record: HistoryRecord): FinishedJobView {
  const started = record.startedAt === undefined ? Number.NaN : Date.parse(record.startedAt);
  const ended = Date.parse(record.endedAt);
  return {
    id: jobLabel(record),
    task: record.array?.task ?? null,
    user: record.user,
    uid: record.uid,
    project: listedProject(record),
    projectPath: record.project.path,
    activity: record.activity === undefined ? null : { ...record.activity },
    kind: record.kind,
    command: record.command,
    ending: record.ending,
    exitCode: record.exitCode ?? null,
    request: { ...record.request },
    grant: record.grant
      ? {
          gpus: [...record.grant.gpus].sort((a, b) => a - b),
          cpus: [...record.grant.cpus].sort((a, b) => a - b),
          memoryMb: record.grant.memoryMb,
        }
      : null,
    submittedAt: record.submittedAt,
    startedAt: record.startedAt ?? null,
    endedAt: record.endedAt,
    elapsedMs: Number.isNaN(started) || Number.isNaN(ended) ? null : Math.max(0, ended - started),
    logFile: record.logFile ?? null,
  };
}
