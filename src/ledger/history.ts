/**
 * The history: one JSON line (a HistoryRecord) per finished job, only ever appended to, so the
 * ledger itself stays small. Each record goes to the file of the month its job ended in (UTC),
 * `queue/history/2026-12.jsonl`, so a report of last week reads one or two small files, never
 * years of them. The single `queue/history.jsonl` of earlier rp versions is still read (each of
 * its records as part of the month it ended in) and never written or rewritten.
 *
 * Appends happen inside the ledger transaction that removes the job, before the ledger is
 * written: a crash in between leaves the job in the ledger *and* in the history, and the job is
 * recorded a second time when it is removed again (usually as 'reaped'). A duplicate line is the
 * price of never losing a finished job; readers may dedupe on (id, submittedAt, array task), see
 * dedupeHistory in src/core/history-months.ts.
 */
import { open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import createDebug from 'debug';
import type * as z from '../core/zod.js';
import {
  monthFileName,
  monthKey,
  monthOfFileName,
  recordMonth,
  type MonthKey,
} from '../core/history-months.js';
import { bookingRecordSchema, historyRecordSchema } from '../core/ledger-schema.js';
import type { BookingRecord, HistoryRecord } from '../core/ledger-state.js';
import { toConfigError } from './fs-errors.js';
import type { HistoryPaths } from './paths.js';
import { makeSharedDir } from './shared-dir.js';

const debug = createDebug('rp:ledger');

export type { HistoryPaths };

/** The file of `month`. */
export function monthFile(paths: Pick<HistoryPaths, 'dir'>, month: MonthKey): string {
  return join(paths.dir, monthFileName(month));
}

export interface AppendOptions {
  /** Permission bits of a new month file (shared, so every rp user can append). */
  mode: number;
  /** The month of a record whose end time cannot be read (it must still be kept somewhere). */
  now: Date;
}

/**
 * Appends `records` to the files of the months they ended in and fsyncs them, so they are on
 * disk before the ledger forgets the jobs.
 */
export async function appendHistory<R extends Pick<HistoryRecord, 'endedAt'>>(
  paths: Pick<HistoryPaths, 'dir'>,
  records: readonly R[],
  options: AppendOptions,
): Promise<void> {
  if (records.length === 0) return;
  const byMonth = new Map<MonthKey, R[]>();
  for (const record of records) {
    const month = recordMonth(record) ?? monthKey(options.now);
    byMonth.set(month, [...(byMonth.get(month) ?? []), record]);
  }
  try {
    await makeSharedDir(paths.dir);
  } catch (error) {
    throw toConfigError(error, paths.dir, 'create');
  }
  for (const [month, monthRecords] of byMonth) {
    await appendLines(monthFile(paths, month), monthRecords, options.mode);
  }
}

async function appendLines(path: string, records: readonly unknown[], mode: number): Promise<void> {
  const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
  let handle: FileHandle | undefined;
  let created = false;
  try {
    // 'a+': appends always go to the end (O_APPEND), and the last byte can be read.
    handle = await open(path, 'a+', mode);
    const stat = await handle.stat();
    if (stat.size === 0 && stat.uid === process.getuid?.()) {
      // A new file: give it the shared mode whatever the umask, so other users can append too.
      await handle.chmod(mode).catch(() => undefined);
      created = true;
    }
    let prefix = '';
    if (stat.size > 0) {
      // A writer that crashed mid-line left no newline; start on a fresh line so that only its
      // partial line is unreadable, not ours too.
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, stat.size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(prefix + text);
    await handle.sync();
  } catch (error) {
    throw toConfigError(error, path, 'append to');
  } finally {
    await handle?.close().catch(() => undefined);
  }
  // A new month's file (and, once, the folder) exists for sure only once its directory entry is
  // on disk too; this happens once a month, so the extra fsyncs cost nothing.
  if (created) {
    await syncDirectory(dirname(path));
    await syncDirectory(dirname(dirname(path)));
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory (EINVAL); the file's own data is synced.
    debug('could not fsync %s: %s', dir, (error as Error).message);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export interface HistoryContents {
  records: HistoryRecord[];
  /** Lines that could not be read (a crashed writer's partial line, or foreign text). */
  skippedLines: number;
}

/**
 * The records of `months` (every month when not given), in the order they were appended: the
 * earlier rp's single file first, then the monthly files oldest first. Only the files of those
 * months are opened. Duplicates are kept; see dedupeHistory.
 */
export async function readHistory(
  paths: HistoryPaths,
  months?: readonly MonthKey[],
): Promise<HistoryContents> {
  const legacy = await readLegacy(paths);
  const wanted = months === undefined ? undefined : new Set(months);
  const records = legacy.records.filter((record) => {
    if (wanted === undefined) return true;
    const month = recordMonth(record);
    return month !== undefined && wanted.has(month);
  });
  let skippedLines = legacy.skippedLines;
  const files = months === undefined ? await historyMonths(paths) : [...new Set(months)].sort();
  for (const month of files) {
    const contents = await readHistoryFile(monthFile(paths, month));
    records.push(...contents.records);
    skippedLines += contents.skippedLines;
  }
  return { records, skippedLines };
}

/** One month of the history, as historyNewestFirst hands them out. */
export interface HistoryMonth extends HistoryContents {
  month: MonthKey;
}

/**
 * The history a month at a time, the newest month first, for readers that need only the latest
 * records (`rp history --limit 20`, the log of a finished job): they stop reading when they have
 * enough. The records of a month are in the order they were appended.
 */
export async function* historyNewestFirst(paths: HistoryPaths): AsyncGenerator<HistoryMonth> {
  const legacy = await readLegacy(paths);
  const legacyByMonth = new Map<MonthKey, HistoryRecord[]>();
  for (const record of legacy.records) {
    const month = recordMonth(record);
    // An end time no clock wrote cannot be placed in any month; such a line is skipped.
    if (month !== undefined)
      legacyByMonth.set(month, [...(legacyByMonth.get(month) ?? []), record]);
  }
  const files = new Set(await historyMonths(paths));
  const months = [...new Set([...files, ...legacyByMonth.keys()])].sort().reverse();
  for (const month of months) {
    const contents = files.has(month)
      ? await readHistoryFile(monthFile(paths, month))
      : { records: [], skippedLines: 0 };
    yield {
      month,
      records: [...(legacyByMonth.get(month) ?? []), ...contents.records],
      skippedLines: contents.skippedLines,
    };
  }
}

/** The months that have a file, oldest first (the folder is listed; no file is opened). */
export async function historyMonths(paths: Pick<HistoryPaths, 'dir'>): Promise<MonthKey[]> {
  let names: string[];
  try {
    names = await readdir(paths.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw toConfigError(error, paths.dir, 'read');
  }
  return names
    .map(monthOfFileName)
    .filter((month): month is MonthKey => month !== undefined)
    .sort();
}

function readLegacy(paths: HistoryPaths): Promise<HistoryContents> {
  return readHistoryFile(paths.legacy);
}

/** Reads one file of the history; a missing file is an empty history. */
export function readHistoryFile(path: string): Promise<HistoryContents> {
  return readRecordFile(path, historyRecordSchema);
}

/**
 * The records of one JSON-lines file that `schema` accepts, and how many lines it did not; a
 * missing file has none.
 */
export async function readRecordFile<R>(
  path: string,
  schema: z.ZodType<R>,
): Promise<{ records: R[]; skippedLines: number }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skippedLines: 0 };
    throw toConfigError(error, path, 'read');
  }
  const records: R[] = [];
  let skippedLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = schema.safeParse(JSON.parse(line));
      if (parsed.success) {
        records.push(parsed.data);
        continue;
      }
    } catch {
      // Not JSON: counted below.
    }
    skippedLines += 1;
  }
  if (skippedLines > 0) debug('skipped %d unreadable line(s) in %s', skippedLines, path);
  return { records, skippedLines };
}

/**
 * The booking history of `months` (every month when not given): one record per booking that
 * left the ledger, in the order they were appended.
 */
export async function readBookingHistory(
  paths: Pick<HistoryPaths, 'dir'>,
  months?: readonly MonthKey[],
): Promise<BookingRecord[]> {
  const files = months === undefined ? await historyMonths(paths) : [...new Set(months)].sort();
  const records: BookingRecord[] = [];
  for (const month of files) {
    records.push(...(await readRecordFile(monthFile(paths, month), bookingRecordSchema)).records);
  }
  return records;
}
