/**
 * `rp book` and `rp bookings` for people: what was booked or cancelled, the bookings as a table
 * with a timeline below it, the warning about jobs in a booking's way, and the CSV export. Pure
 * functions from view data (and a `now`) to text; times in local time, as people read a clock.
 */
import { stringify } from 'csv-stringify/sync';
import { BOOKING_CSV_COLUMNS, GPU_IDS_COLUMN } from '../core/booking-csv.js';
import { formatSeconds } from '../core/durations.js';
import { formatAmount, formatIdRanges, formatMemory, MB_PER_GB, plural } from '../core/units.js';
import { formatLocalTime } from './history-table.js';
import { formatDuration, renderTable } from './tables.js';

/** A booking as shown (src/services/bookings.ts's BookingView fits). */
export interface BookingRow {
  id: string;
  user: string;
  start: string;
  end: string;
  gpus: number;
  gpuIds?: readonly number[];
  cpus: number;
  memoryMb: number;
}

/** A job that may still hold what a booking needs (src/core/booking-notes.ts's fits). */
export interface ObstacleRow {
  job: string;
  user: string;
  holds: { gpus: number; cpus: number; memoryMb: number };
  gpuIds: readonly number[];
  until: string | null;
}

/** "2 GPUs (0,3), 4 CPUs, 16 GB": what a booking holds, leaving out what it does not. */
export function describeAmounts(booking: BookingRow): string {
  const parts: string[] = [];
  if (booking.gpus > 0) {
    const ids = booking.gpuIds === undefined ? '' : ` (${formatIdRanges(booking.gpuIds)})`;
    parts.push(`${plural(booking.gpus, 'GPU')}${ids}`);
  }
  if (booking.cpus > 0) parts.push(plural(booking.cpus, 'CPU'));
  if (booking.memoryMb > 0) parts.push(formatMemory(booking.memoryMb));
  return parts.join(', ');
}

/** "2026-12-03 09:00 to 11:00 (2h)", the end's date shown only when it is another day. */
export function describeWindow(booking: Pick<BookingRow, 'start' | 'end'>): string {
  const start = formatLocalTime(booking.start);
  const end = formatLocalTime(booking.end);
  const sameDay = start.slice(0, 10) === end.slice(0, 10);
  const length = formatSeconds((Date.parse(booking.end) - Date.parse(booking.start)) / 1000);
  return `${start} to ${sameDay ? end.slice(11) : end} (${length})`;
}

/** `rp book`: "Booked b1234 for alice: 1 CPU, 2026-12-03 09:00 to 10:00 (1h)". */
export function describeBooked(booking: BookingRow): string {
  return `Booked ${booking.id} for ${booking.user}: ${describeAmounts(booking)}, ${describeWindow(booking)}`;
}

/** `rp book --cancel`: "Cancelled b1234 of alice: ...". */
export function describeCancelled(booking: BookingRow): string {
  return `Cancelled ${booking.id} of ${booking.user}: ${describeAmounts(booking)}, ${describeWindow(booking)}`;
}

/**
 * The warning printed on stderr after booking when running jobs may still hold what the booking
 * needs at its start; none when there are no such jobs.
 */
export function renderObstacles(
  booking: Pick<BookingRow, 'id'>,
  obstacles: readonly ObstacleRow[],
): string[] {
  if (obstacles.length === 0) return [];
  return [
    `rp: warning: running jobs may still hold what ${booking.id} needs when it starts ` +
      '(a booking keeps out only jobs started after it was made):',
    ...obstacles.map((obstacle) => `  ${describeObstacle(obstacle)}`),
  ];
}

/** "job 1234 of alice holds 2 GPUs with no time limit". */
export function describeObstacle(obstacle: ObstacleRow): string {
  const held = (['gpus', 'cpus', 'memoryMb'] as const)
    .filter((kind) => obstacle.holds[kind] > 0)
    .map((kind) => {
      const ids =
        kind === 'gpus' && obstacle.gpuIds.length > 0
          ? ` (${formatIdRanges(obstacle.gpuIds)})`
          : '';
      return `${formatAmount(kind, obstacle.holds[kind])}${ids}`;
    })
    .join(', ');
  const until =
    obstacle.until === null
      ? 'with no time limit'
      : `until ${formatLocalTime(obstacle.until)} at the latest (its time limit)`;
  return `job ${obstacle.job} of ${obstacle.user} holds ${held} ${until}`;
}

/** `rp bookings` when there are none (on stderr). */
export function noBookingsLine(filter: { user?: string }): string {
  return filter.user === undefined
    ? 'No upcoming or active bookings on this host.'
    : `No upcoming or active bookings of ${filter.user}; "rp book" makes one, "rp bookings --all" lists everyone's.`;
}

/** `rp bookings`: the table, by start, then the timeline. */
export function renderBookings(bookings: readonly BookingRow[], now: Date): string[] {
  return [...renderBookingTable(bookings, now), '', ...renderTimeline(bookings, now)];
}

export function renderBookingTable(bookings: readonly BookingRow[], now: Date): string[] {
  return renderTable(
    [
      { header: 'ID' },
      { header: 'USER' },
      { header: 'START' },
      { header: 'END' },
      { header: 'DURATION', align: 'right' },
      { header: 'GPUS', align: 'right' },
      { header: 'CPUS', align: 'right' },
      { header: 'MEMORY', align: 'right' },
      { header: 'STATE' },
    ],
    bookings.map((booking) => [
      booking.id,
      booking.user,
      formatLocalTime(booking.start),
      formatLocalTime(booking.end),
      formatDuration(Date.parse(booking.end) - Date.parse(booking.start)),
      booking.gpuIds === undefined || booking.gpuIds.length === 0
        ? String(booking.gpus)
        : `${booking.gpus} (${formatIdRanges(booking.gpuIds)})`,
      String(booking.cpus),
      booking.memoryMb === 0 ? '0' : formatMemory(booking.memoryMb),
      stateOf(booking, now),
    ]),
  );
}

/** "active", or how long until it starts: "in 2h 5m". */
export function stateOf(booking: Pick<BookingRow, 'start'>, now: Date): string {
  const wait = Date.parse(booking.start) - now.getTime();
  return wait <= 0 ? 'active' : `in ${formatDuration(wait)}`;
}

/** The timeline fits a terminal this wide. */
export const TIMELINE_WIDTH = 80;
/** It covers at most this long from now: further bookings are cut off, and it says so. */
export const TIMELINE_MAX_MS = 14 * 86_400_000;
/** At least this long, so a booking of minutes is not drawn across the whole width. */
const TIMELINE_MIN_MS = 3_600_000;
const BOOKED = '█';
const FREE = '·';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Columns between two marks at least: "12:00" and two spaces. */
const TICK_MIN_COLUMNS = 7;
/** Tick spacings, smallest first; the first that leaves room for its labels is used. */
const TICK_STEPS = [
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

/**
 * One line per booking from `now` to the last booking's end (at most TIMELINE_MAX_MS), `█` where
 * it holds resources and `·` where it does not, under a header of dates and hour marks, all within
 * TIMELINE_WIDTH columns. A column stands for a stretch of time; it is `█` if the booking holds
 * any of it, so even a short booking shows.
 */
export function renderTimeline(bookings: readonly BookingRow[], now: Date): string[] {
  if (bookings.length === 0) return [];
  const from = now.getTime();
  const lastEnd = Math.max(...bookings.map((booking) => Date.parse(booking.end)));
  const span = Math.min(Math.max(lastEnd - from, TIMELINE_MIN_MS), TIMELINE_MAX_MS);
  const labels = bookings.map((booking) => `${booking.id} ${booking.user}`);
  const labelWidth = Math.max(...labels.map((label) => [...label].length)) + 2;
  const columns = Math.max(10, TIMELINE_WIDTH - labelWidth);
  const msPerColumn = span / columns;
  const to = from + span;
  const pad = ' '.repeat(labelWidth);
  const lines = [...timelineHeader(from, to, msPerColumn, columns).map((line) => pad + line)];
  bookings.forEach((booking, i) => {
    const start = Date.parse(booking.start);
    const end = Date.parse(booking.end);
    let bar = '';
    for (let column = 0; column < columns; column += 1) {
      const cellStart = from + column * msPerColumn;
      const cellEnd = cellStart + msPerColumn;
      bar += start < cellEnd && cellStart < end ? BOOKED : FREE;
    }
    const label = labels[i] ?? '';
    lines.push(`${label}${' '.repeat(labelWidth - [...label].length)}${bar}`);
  });
  if (lastEnd > to) {
    lines.push(`(drawn up to ${formatLocalTime(new Date(to))}; the table has the rest)`);
  }
  return lines;
}

/**
 * Two lines: the date at the start and at each midnight that has room, then the time of each tick
 * (left out when ticks are whole days, the dates say it all).
 */
function timelineHeader(from: number, to: number, msPerColumn: number, columns: number): string[] {
  const step = TICK_STEPS.find((ms) => ms / msPerColumn >= TICK_MIN_COLUMNS) ?? DAY * 7;
  const ticks = ticksBetween(from, to, step);
  const columnOf = (t: number): number => Math.floor((t - from) / msPerColumn);
  const days = [from, ...ticks.filter((t) => isMidnight(t))];
  const dateLine = place(
    days.map((t) => ({ column: columnOf(t), text: localDate(t, step >= DAY) })),
    columns,
  );
  if (step >= DAY) return [dateLine];
  const timeLine = place(
    ticks.map((t) => ({ column: columnOf(t), text: localClock(t) })),
    columns,
  );
  return [dateLine, timeLine];
}

/** Local times on multiples of `step` from local midnight (days: each midnight), from..to. */
function ticksBetween(from: number, to: number, step: number): number[] {
  const midnight = new Date(from);
  midnight.setHours(0, 0, 0, 0);
  const ticks: number[] = [];
  if (step >= DAY) {
    const days = step / DAY;
    for (const day = new Date(midnight); day.getTime() < to; day.setDate(day.getDate() + days)) {
      if (day.getTime() >= from) ticks.push(day.getTime());
    }
    return ticks;
  }
  // Within a day, ticks count from that day's local midnight, so a daylight-saving change shifts
  // at most the marks of the day it happens on.
  for (const day = new Date(midnight); day.getTime() < to; day.setDate(day.getDate() + 1)) {
    for (let t = day.getTime(); t < day.getTime() + DAY && t < to; t += step) {
      if (t >= from) ticks.push(t);
    }
  }
  return ticks;
}

/** Texts laid out at their columns, each left out when it would run into the one before it. */
function place(items: ReadonlyArray<{ column: number; text: string }>, columns: number): string {
  let line = '';
  for (const { column, text } of items) {
    if (column < line.length + (line.length === 0 ? 0 : 1)) continue;
    if (column + text.length > columns) continue;
    line += ' '.repeat(column - line.length) + text;
  }
  return line;
}

function isMidnight(t: number): boolean {
  const at = new Date(t);
  return at.getHours() === 0 && at.getMinutes() === 0;
}

/** "2026-12-03", or "12-03" where days are the ticks and room is short. */
function localDate(t: number, short: boolean): string {
  const date = formatLocalTime(new Date(t)).slice(0, 10);
  return short ? date.slice(5) : date;
}

function localClock(t: number): string {
  return formatLocalTime(new Date(t)).slice(11);
}

/** `rp bookings --export csv`: the AIVC header and gpu_ids, memory in GB, times in local time. */
export function bookingsCsv(bookings: readonly BookingRow[]): string {
  return stringify(
    bookings.map((booking) => ({
      start: formatLocalTime(booking.start),
      end: formatLocalTime(booking.end),
      user_id: booking.user,
      cpus: booking.cpus,
      memory: booking.memoryMb / MB_PER_GB,
      gpus: booking.gpus,
      [GPU_IDS_COLUMN]: (booking.gpuIds ?? []).join(','),
    })),
    { header: true, columns: [...BOOKING_CSV_COLUMNS, GPU_IDS_COLUMN] },
  );
}
