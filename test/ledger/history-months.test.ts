import { chmod, mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHistoryRecord, type HistoryRecord } from '../../src/core/ledger-state.js';
import {
  appendHistory,
  historyMonths,
  historyNewestFirst,
  monthFile,
  readHistory,
} from '../../src/ledger/history.js';
import { ledgerPaths, type HistoryPaths } from '../../src/ledger/paths.js';
import { makeTempDir } from '../support/tmp.js';
import { makeJob } from './fixtures/jobs.js';

let rpHome: string;
let paths: HistoryPaths;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-history-'));
  // As `rp host init` leaves it: group-writable, setgid.
  await mkdir(ledgerPaths(rpHome).dir);
  await chmod(ledgerPaths(rpHome).dir, 0o2775);
  paths = ledgerPaths(rpHome).history;
});
afterEach(async () => {
  await cleanup();
});

const NOW = new Date('2026-12-15T12:00:00Z');
const append = (records: HistoryRecord[]) =>
  appendHistory(paths, records, { mode: 0o664, now: NOW });

function record(id: string, endedAt: string, extra: Partial<HistoryRecord> = {}): HistoryRecord {
  const job = makeJob({ id, seq: 1, submittedAt: '2026-11-01T00:00:00Z' });
  return { ...toHistoryRecord(job, { ending: 'exited', endedAt, exitCode: 0 }), ...extra };
}

describe('the monthly history files', () => {
  it('files each record under the UTC month it ended in', async () => {
    // Given records ending on either side of a month's end (UTC, whatever the local zone says),
    const november = record('1001', '2026-11-30T23:59:59.999Z');
    const december = record('1002', '2026-12-01T00:00:00.000Z');

    // When one transaction appends both,
    await append([november, december]);

    // Then each month has a file of its own holding its record.
    expect((await readdir(paths.dir)).sort()).toEqual(['2026-11.jsonl', '2026-12.jsonl']);
    expect(await readFile(monthFile(paths, '2026-11'), 'utf8')).toBe(
      `${JSON.stringify(november)}\n`,
    );
    expect(await readFile(monthFile(paths, '2026-12'), 'utf8')).toBe(
      `${JSON.stringify(december)}\n`,
    );
    expect(await historyMonths(paths)).toEqual(['2026-11', '2026-12']);
  });

  it('makes the folder and the files shared, like the queue folder, whatever the umask', async () => {
    const umask = process.umask(0o077);
    try {
      await append([record('1001', '2026-12-02T00:00:00Z')]);
    } finally {
      process.umask(umask);
    }
    expect((await stat(paths.dir)).mode & 0o7777).toBe(0o2775);
    expect((await stat(monthFile(paths, '2026-12'))).mode & 0o777).toBe(0o664);
  });

  it('files a record whose end time cannot be read under the current month', async () => {
    await append([record('1001', 'not a time')]);
    expect(await historyMonths(paths)).toEqual(['2026-12']);
  });

  it('reads only the files of the months asked for', async () => {
    // Given a readable December and a November that cannot be read at all (a folder where the
    // file should be: opening it fails) next to an October of garbage,
    await append([record('1002', '2026-12-03T00:00:00Z')]);
    await mkdir(monthFile(paths, '2026-11'));
    await writeFile(monthFile(paths, '2026-10'), 'garbage\n');

    // When December is read, neither of the others is opened: nothing fails, nothing is skipped.
    const december = await readHistory(paths, ['2026-12']);
    expect(december.records.map((r) => r.id)).toEqual(['1002']);
    expect(december.skippedLines).toBe(0);

    // (and reading November would have failed, naming the file)
    await expect(readHistory(paths, ['2026-11'])).rejects.toThrow(monthFile(paths, '2026-11'));
  });

  it('still reads the single history.jsonl of earlier versions, by the month of each record', async () => {
    // Given an old history.jsonl holding records of November and December, and a new December file,
    const old = [record('1001', '2026-11-20T00:00:00Z'), record('1002', '2026-12-01T10:00:00Z')];
    await writeFile(paths.legacy, old.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const before = await readFile(paths.legacy, 'utf8');
    await append([record('1003', '2026-12-05T00:00:00Z')]);

    // Then a month's read holds that month's old records before its new ones,
    expect((await readHistory(paths, ['2026-12'])).records.map((r) => r.id)).toEqual([
      '1002',
      '1003',
    ]);
    expect((await readHistory(paths, ['2026-11'])).records.map((r) => r.id)).toEqual(['1001']);
    // reading everything holds all three in the order they were written,
    expect((await readHistory(paths)).records.map((r) => r.id)).toEqual(['1001', '1002', '1003']);
    // and the old file is left as it was.
    expect(await readFile(paths.legacy, 'utf8')).toBe(before);
  });

  it('hands out the months newest first, stopping where the reader stops', async () => {
    await writeFile(paths.legacy, `${JSON.stringify(record('1001', '2026-09-01T00:00:00Z'))}\n`);
    await append([record('1002', '2026-11-02T00:00:00Z'), record('1003', '2026-12-02T00:00:00Z')]);
    // A garbage October that the reader below never gets to.
    await mkdir(monthFile(paths, '2026-10'));

    const seen: string[] = [];
    for await (const month of historyNewestFirst(paths)) {
      seen.push(`${month.month}:${month.records.map((r) => r.id).join(',')}`);
      if (month.month === '2026-11') break;
    }
    expect(seen).toEqual(['2026-12:1003', '2026-11:1002']);

    const all: string[] = [];
    await mkdir(join(paths.dir, 'not-a-month'));
    await rmdir(monthFile(paths, '2026-10'));
    for await (const month of historyNewestFirst(paths)) all.push(month.month);
    expect(all).toEqual(['2026-12', '2026-11', '2026-09']);
  });
});
