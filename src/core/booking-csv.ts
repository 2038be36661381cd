/**
 * Bookings as CSV, in the header the lab's old booking sheet (AIVC) used:
 * `start,end,user_id,cpus,memory,gpus[,...]`, times as "YYYY-MM-DD HH:MM" local time, memory in
 * GB, GPUs as a count; rp adds an optional seventh column, `gpu_ids` ("0,3", empty for any), so
 * that an export of bookings of named GPUs imports as it was. `rp bookings --export csv` writes it (src/ui/bookings.ts) and
 * `rp book --import FILE` reads it here. Pure: the text, the file's name and `now` are passed in.
 *
 * Each row is checked on its own here (a time, a whole minute, an end after the start, amounts),
 * with errors naming the file, the row and the field; whether the host can hold the rows is
 * addBooking's to say, for all of them in one transaction.
 */
import { parse } from 'csv-parse/sync';
import { parseGpuIds } from './booking-request.js';
import { DATE_TIME_FORMS, parseDateTime } from './dates.js';
import { UsageError } from './errors.js';
import type { ResourceRequest } from './ledger-state.js';
import { gbToMb } from './units.js';

/** The columns, in order; more columns after these are ignored, but for GPU_IDS_COLUMN. */
export const BOOKING_CSV_COLUMNS = ['start', 'end', 'user_id', 'cpus', 'memory', 'gpus'] as const;
/** The seventh column, when the header names it: the GPUs booked by index. */
export const GPU_IDS_COLUMN = 'gpu_ids';

/** One row of the file, read. */
export interface CsvBookingRow {
  /** The row's number as an editor or a spreadsheet shows it: the header is row 1. */
  row: number;
  user: string;
  start: Date;
  end: Date;
  request: ResourceRequest;
  /** The GPUs booked by index, when the row names them. */
  gpuIds?: number[];
}

const MINUTE_MS = 60_000;

/**
 * The rows of a bookings CSV, or a UsageError naming `file`, the row and the field. An empty file
 * or one with only the header holds no bookings, which is an error too: importing it would do
 * nothing, and that is seldom what was meant.
 */
export function parseBookingCsv(text: string, file: string, now: Date): CsvBookingRow[] {
  const records = readRecords(text, file);
  const [header, ...rows] = records;
  if (header === undefined || !hasHeader(header.record)) {
    throw new UsageError(
      `${file} does not start with the header ${BOOKING_CSV_COLUMNS.join(',')}`,
      {
        hint: 'the first line names the columns; "rp bookings --export csv" writes such a file',
      },
    );
  }
  if (rows.length === 0) {
    throw new UsageError(`${file} holds no bookings, only the header`);
  }
  const withIds = header.record[BOOKING_CSV_COLUMNS.length]?.toLowerCase() === GPU_IDS_COLUMN;
  return rows.map(({ record, row }) => readRow(record, row, file, now, withIds));
}

function readRecords(text: string, file: string): Array<{ record: string[]; row: number }> {
  try {
    const parsed = parse(text, {
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
    return parsed.map(({ record, info }) => ({ record, row: info.lines }));
  } catch (error) {
    throw new UsageError(`${file} is not CSV: ${(error as Error).message}`, {
      hint: 'fields with commas or quotes are quoted with double quotes ("...")',
    });
  }
}

function hasHeader(record: readonly string[]): boolean {
  return BOOKING_CSV_COLUMNS.every((name, i) => record[i]?.toLowerCase() === name);
}

function readRow(
  record: readonly string[],
  row: number,
  file: string,
  now: Date,
  withIds: boolean,
): CsvBookingRow {
  const where = `${file} row ${row}`;
  if (record.length < BOOKING_CSV_COLUMNS.length) {
    throw new UsageError(
      `${where}: has ${record.length} field${record.length === 1 ? '' : 's'}, not the ${BOOKING_CSV_COLUMNS.length} of ${BOOKING_CSV_COLUMNS.join(',')}`,
    );
  }
  const [startText, endText, user, cpus, memory, gpus] = record as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const start = readTime(startText, 'start', where, now);
  const end = readTime(endText, 'end', where, now);
  if (end.getTime() <= start.getTime()) {
    const how = end.getTime() === start.getTime() ? 'is the same as' : 'is before';
    throw new UsageError(`${where}: end ${endText} ${how} start ${startText}`, {
      hint: 'a booking ends after it starts',
    });
  }
  if (user === '') throw new UsageError(`${where}: user_id is empty`, { hint: 'give a user name' });
  const request = {
    gpus: readCount(gpus, 'gpus', where),
    cpus: readCount(cpus, 'cpus', where),
    memoryMb: gbToMb(readGb(memory, where)),
  };
  const idsText = withIds ? (record[BOOKING_CSV_COLUMNS.length] ?? '') : '';
  const gpuIds = idsText === '' ? undefined : readGpuIds(idsText, where);
  if (gpuIds !== undefined && gpuIds.length !== request.gpus) {
    throw new UsageError(
      `${where}: gpus is ${request.gpus} but gpu_ids "${idsText}" names ${gpuIds.length}`,
      { hint: 'gpus is the number of GPUs named in gpu_ids' },
    );
  }
  return { row, user, start, end, request, ...(gpuIds === undefined ? {} : { gpuIds }) };
}

function readGpuIds(text: string, where: string): number[] {
  try {
    return parseGpuIds(text);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${where}: gpu_ids${error.message.replace(/^--gpu-ids/, '')}`, {
      hint: 'name GPU indices as nvidia-smi numbers them: 0,3 or 0-3 (quoted, for the comma)',
    });
  }
}

function readTime(text: string, field: 'start' | 'end', where: string, now: Date): Date {
  const at = parseDateTime(text, now);
  if (at === undefined) {
    throw new UsageError(`${where}: ${field} "${text}" is not a time`, {
      hint: `use "YYYY-MM-DD HH:MM" (local time) or another of ${DATE_TIME_FORMS}`,
    });
  }
  if (at.getTime() % MINUTE_MS !== 0) {
    throw new UsageError(`${where}: ${field} ${text} is not on a whole minute`, {
      hint: 'bookings start and end on whole minutes: "YYYY-MM-DD HH:MM"',
    });
  }
  return at;
}

function readCount(text: string, field: 'cpus' | 'gpus', where: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${where}: ${field} "${text}" is not a whole number (0 or more)`);
  }
  return Number(text);
}

function readGb(text: string, where: string): number {
  const gb = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(gb)) {
    throw new UsageError(
      `${where}: memory "${text}" is not a number of GB (0 or more, e.g. 16 or 0.5)`,
    );
  }
  return gb;
}
