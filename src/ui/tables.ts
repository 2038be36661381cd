/**
 * Plain-text tables for `rp ps` and `rp queue`: pure functions from view data to lines, with no
 * color and nothing live, so the output reads the same on a terminal, in a pipe and in a test.
 */
import { formatSeconds } from '../core/durations.js';
import { formatIdRanges, formatMemory, plural } from '../core/units.js';
import { describeUnmanaged } from '../core/gpu-processes.js';

// What the tables show. The status service's view data (src/services/job-status.ts) fits these
// shapes; structural typing keeps src/ui free of service imports.

export interface ResourceUsage {
  gpus: readonly number[];
  cpus: readonly number[];
  memoryMb: number;
}

export interface RunningRow {
  id: string;
  name: string;
  /** Where it runs ('local'); shown when the host also sends jobs elsewhere. */
  backend?: string;
  user: string;
  project: string;
  /** 'granted': the container is about to start. */
  state: string;
  gpus: readonly number[];
  cpus: readonly number[];
  memoryMb: number;
  runningMs: number;
  timeLimitSeconds: number | null;
  /** Until its deadline; null without a limit (or while only granted). */
  leftMs: number | null;
}

export interface QueueRow {
  position: number;
  id: string;
  /** Where it will run ('local'); shown when the host also sends jobs elsewhere. */
  backend?: string;
  user: string;
  project: string;
  request: { gpus: number; cpus: number; memoryMb: number };
  waitingFor: string;
  waitingMs: number;
  timeLimitSeconds: number | null;
}

/** A GPU and the processes outside rp that use it. */
export interface GpuRow {
  index: number;
  unmanaged: ReadonlyArray<{ pid: number; user: string; memoryMb: number | null }>;
}

export interface HostStatusView {
  capacity: ResourceUsage;
  used: ResourceUsage;
  /** Absent (older callers) or without processes outside rp: nothing more is shown. */
  gpus?: readonly GpuRow[];
  running: readonly RunningRow[];
  queue: readonly QueueRow[];
}

export interface Column {
  header: string;
  /** Numbers read best right-aligned. Default: left. */
  align?: 'left' | 'right';
}

const GAP = '  ';

/**
 * The rows under their headers, each column as wide as its widest cell, separated by two spaces.
 * Lines never end in spaces (the last column, when left-aligned, is not padded). A row with fewer
 * cells than there are columns is padded with empty cells.
 */
export function renderTable(
  columns: readonly Column[],
  rows: ReadonlyArray<readonly string[]>,
  options: { headers?: boolean } = {},
): string[] {
  const showHeaders = options.headers ?? true;
  const lines = [...(showHeaders ? [columns.map((column) => column.header)] : []), ...rows];
  const widths = columns.map((_, i) =>
    Math.max(0, ...lines.map((line) => textWidth(line[i] ?? ''))),
  );
  return lines.map((line) =>
    columns
      .map((column, i) => {
        const cell = line[i] ?? '';
        const padding = ' '.repeat((widths[i] ?? 0) - textWidth(cell));
        return column.align === 'right' ? padding + cell : cell + padding;
      })
      .join(GAP)
      .trimEnd(),
  );
}

/** Characters as people count them; user names and paths may hold non-ASCII letters. */
function textWidth(text: string): number {
  return [...text].length;
}

/**
 * A duration for people, in its two largest units: "45s", "3m 12s", "2h 5m", "4d 1h". Rounded
 * down, so a job never looks older than it is; below a second (or negative) it is "0s".
 */
export function formatDuration(ms: number): string {
  return formatSeconds(ms / 1000);
}

/** A job's time limit, or "-" without one. */
function limitText(seconds: number | null): string {
  return seconds === null ? '-' : formatSeconds(seconds);
}

/** "1 GPU, 4 CPUs, 16 GB": what a queued job asks for. */
export function formatRequest(request: QueueRow['request']): string {
  return `${plural(request.gpus, 'GPU')}, ${plural(request.cpus, 'CPU')}, ${formatMemory(request.memoryMb)}`;
}

export const NO_JOBS_RUNNING = 'No jobs are running.';
export const QUEUE_EMPTY = 'The queue is empty.';

/** `rp ps`: what is in use of the host, the running jobs, then the queue. */
export function renderHostStatus(status: HostStatusView, options: TableOptions = {}): string[] {
  return [
    ...renderUsage(status.capacity, status.used),
    ...renderUnmanaged(status.gpus ?? []),
    '',
    ...section('Running', status.running.length, renderRunning(status.running, options)),
    '',
    ...section('Queue', status.queue.length, renderQueue(status.queue, options)),
  ];
}

export interface TableOptions {
  /**
   * A BACKEND column ('local' for this machine's jobs): when the host config also names a
   * cluster, so that every line of `rp ps` says where its job runs.
   */
  backendColumn?: boolean;
}

/** The BACKEND column after column `at`, when asked for. */
function withBackend(
  options: TableOptions,
  at: number,
  columns: Column[],
  rows: string[][],
  backends: ReadonlyArray<string | undefined>,
): [Column[], string[][]] {
  if (options.backendColumn !== true) return [columns, rows];
  const insert = <T>(list: readonly T[], item: T): T[] => [
    ...list.slice(0, at),
    item,
    ...list.slice(at),
  ];
  return [
    insert(columns, { header: 'BACKEND' }),
    rows.map((row, index) => insert(row, backends[index] ?? 'local')),
  ];
}

/** A titled table ("Running (2 jobs)"), or just the "none" line a table renders when empty. */
function section(title: string, count: number, table: string[]): string[] {
  return count === 0 ? table : [`${title} (${plural(count, 'job')})`, ...table];
}

/** "GPUs    1 of 2 in use (0)" and the same for cores and memory. */
export function renderUsage(capacity: ResourceUsage, used: ResourceUsage): string[] {
  const ids = (list: readonly number[]): string =>
    list.length === 0 ? '' : ` (${formatIdRanges(list)})`;
  const gpus =
    capacity.gpus.length === 0
      ? 'none on this host'
      : `${used.gpus.length} of ${capacity.gpus.length} in use${ids(used.gpus)}`;
  const cpus = `${used.cpus.length} of ${capacity.cpus.length} in use${ids(used.cpus)}`;
  const memory = `${formatMemory(used.memoryMb)} of ${formatMemory(capacity.memoryMb)} in use`;
  return renderTable(
    [{ header: '' }, { header: '' }],
    [
      ['GPUs', gpus],
      ['CPUs', cpus],
      ['memory', memory],
    ],
    { headers: false },
  );
}

/**
 * "GPU 1   unmanaged: alice (pid 4242, 1.5 GB)" for each GPU a process outside rp uses; nothing
 * when none does.
 */
export function renderUnmanaged(gpus: readonly GpuRow[]): string[] {
  const busy = gpus.filter((gpu) => gpu.unmanaged.length > 0);
  if (busy.length === 0) return [];
  return renderTable(
    [{ header: '' }, { header: '' }],
    busy.map((gpu) => [`GPU ${gpu.index}`, describeUnmanaged(gpu.unmanaged)]),
    { headers: false },
  );
}

/** The running (and granted) jobs; a granted job's container is about to start. */
export function renderRunning(jobs: readonly RunningRow[], options: TableOptions = {}): string[] {
  if (jobs.length === 0) return [NO_JOBS_RUNNING];
  const table = withBackend(
    options,
    2,
    [
      { header: 'ID' },
      { header: 'NAME' },
      { header: 'USER' },
      { header: 'PROJECT' },
      { header: 'GPUS' },
      { header: 'CPUS' },
      { header: 'MEMORY', align: 'right' },
      { header: 'RUNNING FOR' },
      { header: 'LIMIT' },
      { header: 'LEFT' },
    ],
    jobs.map((job) => [
      job.id,
      job.name,
      job.user,
      job.project,
      job.gpus.length === 0 ? '-' : formatIdRanges(job.gpus),
      formatIdRanges(job.cpus),
      formatMemory(job.memoryMb),
      job.state === 'granted'
        ? `starting (${formatDuration(job.runningMs)})`
        : formatDuration(job.runningMs),
      limitText(job.timeLimitSeconds),
      job.leftMs === null ? '-' : formatDuration(job.leftMs),
    ]),
    jobs.map((job) => job.backend),
  );
  return renderTable(...table);
}

/** `rp queue`: the queued jobs in the order they will be served. */
export function renderQueue(queue: readonly QueueRow[], options: TableOptions = {}): string[] {
  if (queue.length === 0) return [QUEUE_EMPTY];
  const table = withBackend(
    options,
    2,
    [
      { header: '#', align: 'right' },
      { header: 'ID' },
      { header: 'USER' },
      { header: 'PROJECT' },
      { header: 'REQUEST' },
      { header: 'SINCE' },
      { header: 'LIMIT' },
      { header: 'WAITING FOR' },
    ],
    queue.map((job) => [
      String(job.position),
      job.id,
      job.user,
      job.project,
      formatRequest(job.request),
      formatDuration(job.waitingMs),
      limitText(job.timeLimitSeconds),
      job.waitingFor,
    ]),
    queue.map((job) => job.backend),
  );
  return renderTable(...table);
}
