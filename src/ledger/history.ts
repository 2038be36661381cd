/**
 * The history file: one JSON line (a HistoryRecord) per finished job, only ever appended to, so
 * the ledger itself stays small. Appends happen inside the ledger transaction that removes the
 * job, before the ledger is written: a crash in between leaves the job in the ledger *and* in the
 * history, and the job is recorded a second time when it is removed again (usually as 'reaped').
 * A duplicate line is the price of never losing a finished job; readers may dedupe on
 * (id, submittedAt).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import createDebug from 'debug';
import { historyRecordSchema } from '../core/ledger-schema.js';
import type { HistoryRecord } from '../core/ledger-state.js';
import { toConfigError } from './fs-errors.js';

const debug = createDebug('rp:ledger');

/** Appends `records` and fsyncs, so they are on disk before the ledger forgets the jobs. */
export async function appendHistory(
  path: string,
  records: readonly HistoryRecord[],
  mode: number,
): Promise<void> {
  if (records.length === 0) return;
  const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
  let handle: FileHandle | undefined;
  try {
    // 'a+': appends always go to the end (O_APPEND), and the last byte can be read.
    handle = await open(path, 'a+', mode);
    const stat = await handle.stat();
    if (stat.size === 0 && stat.uid === process.getuid?.()) {
      // A new file: give it the shared mode whatever the umask, so other users can append too.
      await handle.chmod(mode).catch(() => undefined);
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
}

export interface HistoryContents {
  records: HistoryRecord[];
  /** Lines that could not be read (a crashed writer's partial line, or foreign text). */
  skippedLines: number;
}

/** Reads the whole history file; a missing file is an empty history. */
export async function readHistory(path: string): Promise<HistoryContents> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skippedLines: 0 };
    throw toConfigError(error, path, 'read');
  }
  const records: HistoryRecord[] = [];
  let skippedLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = historyRecordSchema.safeParse(JSON.parse(line));
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
