/**
 * `rp logs ID [-f]`: prints the log file of a job, queued, running or finished, and with -f keeps
 * printing what it writes until the job has ended. A job submitted from a laptop (`rp run --on`)
 * keeps its stderr apart, in `<log>.err` (see stderrFileOf): that goes to `errorOutput`.
 */
import { open } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { stderrFileOf } from '../core/launch-spec.js';
import { jobLabel, type HistoryRecord } from '../core/ledger-state.js';
import { historyNewestFirst } from '../ledger/history.js';
import type { HistoryPaths } from '../ledger/paths.js';
import type { HostSession } from './host-session.js';

/** How often a followed log is read again when the ledger does not change. */
export const FOLLOW_POLL_MS = 300;

export interface LogsOptions {
  jobId: string;
  follow: boolean;
  output: NodeJS.WritableStream;
  /** Where a job's separate stderr file goes (the file is missing for most jobs). */
  errorOutput: NodeJS.WritableStream;
  signal?: AbortSignal;
}

export async function printJobLogs(session: HostSession, options: LogsOptions): Promise<void> {
  const logFile = await findLogFile(session, options.jobId);
  const errFile = stderrFileOf(logFile);
  const toOutput = (bytes: Buffer): unknown => options.output.write(bytes);
  const toError = (bytes: Buffer): unknown => options.errorOutput.write(bytes);
  let offset = await copyNewBytes(logFile, 0, toOutput);
  let errOffset = await copyNewBytes(errFile, 0, toError);
  if (!options.follow) return;
  for (;;) {
    const since = await session.store.changeToken();
    const live = (await session.store.read()).jobs.some((job) => jobLabel(job) === options.jobId);
    offset = await copyNewBytes(logFile, offset, toOutput);
    errOffset = await copyNewBytes(errFile, errOffset, toError);
    if (!live || options.signal?.aborted) return;
    await session.store.waitForChange({ since, timeoutMs: FOLLOW_POLL_MS, signal: options.signal });
  }
}

export async function findLogFile(session: HostSession, jobId: string): Promise<string> {
  const jobs = (await session.store.read()).jobs;
  const live = jobs.find((job) => jobLabel(job) === jobId);
  const found = live ? undefined : await findEnded(session.store.paths.history, jobId);
  const record = live ?? found?.ended;
  if (!record) {
    const first = jobs.find((job) => job.id === jobId && job.array) ?? found?.task;
    if (first) {
      throw new ConfigError(`${jobId} is an array: each of its tasks has a log of its own`, {
        hint: `name one task, e.g. rp logs ${jobLabel(first)}; "rp ps --expand" lists them`,
      });
    }
    throw new ConfigError(`there is no job ${jobId} on this host, running or finished`, {
      hint: '"rp ps" lists the running and queued jobs',
    });
  }
  if (!record.logFile) {
    throw new ConfigError(
      `job ${jobId} keeps no log file: its output went to the terminal that started it`,
      {
        hint: 'jobs started with --detach or --outfile_name keep their output in .rp/logs/',
      },
    );
  }
  return record.logFile;
}

/**
 * The latest record of the finished job `jobId`, reading the history from the newest month back
 * until it is found; else a task of an array of that id, if any, for the hint.
 */
export async function findEnded(
  paths: HistoryPaths,
  jobId: string,
): Promise<{ ended?: HistoryRecord; task?: HistoryRecord }> {
  let task: HistoryRecord | undefined;
  for await (const month of historyNewestFirst(paths)) {
    const ended = month.records.filter((record) => jobLabel(record) === jobId).at(-1);
    if (ended) return { ended };
    task ??= month.records.find((record) => record.id === jobId && record.array);
  }
  return { task };
}

/** Hands on what the file holds past `offset`; returns the new offset. A missing file is empty. */
export async function copyNewBytes(
  path: string,
  offset: number,
  write: (bytes: Buffer) => unknown,
): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return offset;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let position = offset;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      write(Buffer.from(buffer.subarray(0, bytesRead)));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
