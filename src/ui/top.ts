/**
 * `rp top`'s frame as plain lines: the same on a terminal (drawn live by top-live.tsx), in a pipe
 * (repeated) and with `--once`. Pure: view data in, lines out.
 */
import { describeUnmanaged } from '../core/gpu-processes.js';
import { formatMemory, plural } from '../core/units.js';
import { renderBookingTable, type BookingRow } from './bookings.js';
import { formatLocalTime } from '../core/dates.js';
import {
  renderQueue,
  renderRunning,
  renderTable,
  renderUsage,
  type HostStatusView,
} from './tables.js';

/** A GPU as `rp top` shows it (src/services/job-status.ts's GpuView fits). */
export interface TopGpuRow {
  index: number;
  name: string | null;
  job: string | null;
  user: string | null;
  unmanaged: ReadonlyArray<{ pid: number; user: string; memoryMb: number | null }>;
  utilizationPercent: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
}

export interface TopView extends HostStatusView {
  at: string;
  gpus: readonly TopGpuRow[];
  gpuLook: { observedAt: string; kind: string; reason: string | null } | null;
  bookings: readonly BookingRow[];
}

export const NO_BOOKINGS_SOON = 'No bookings in the next 24 h.';

/** The whole frame; `live` adds the key to quit to the title. */
export function renderTop(view: TopView, options: { live?: boolean } = {}): string[] {
  const now = new Date(view.at);
  const seconds = String(now.getSeconds()).padStart(2, '0');
  const title = `rp top · ${formatLocalTime(now)}:${seconds}${options.live ? ' · q quits' : ''}`;
  return [
    title,
    '',
    ...renderUsage(view.capacity, view.used),
    ...(view.gpus.length === 0 ? [] : ['', ...renderGpus(view)]),
    '',
    `Running (${plural(view.running.length, 'job')})`,
    ...renderRunning(view.running),
    '',
    `Queue (${plural(view.queue.length, 'job')})`,
    ...renderQueue(view.queue),
    '',
    'Bookings, next 24 h',
    ...(view.bookings.length === 0 ? [NO_BOOKINGS_SOON] : renderBookingTable(view.bookings, now)),
  ];
}

/** Each GPU: its rp job and user, its figures, and who uses it outside rp. */
export function renderGpus(view: Pick<TopView, 'gpus' | 'gpuLook'>): string[] {
  const lines = renderTable(
    [
      { header: 'GPU', align: 'right' },
      { header: 'NAME' },
      { header: 'JOB' },
      { header: 'USER' },
      { header: 'UTIL', align: 'right' },
      { header: 'MEMORY', align: 'right' },
      { header: 'OUTSIDE RP' },
    ],
    view.gpus.map((gpu) => [
      String(gpu.index),
      gpu.name ?? '-',
      gpu.job ?? '-',
      gpu.user ?? '-',
      gpu.utilizationPercent === null ? '-' : `${gpu.utilizationPercent}%`,
      gpuMemory(gpu),
      gpu.unmanaged.length === 0 ? '-' : describeUnmanaged(gpu.unmanaged),
    ]),
  );
  const look = view.gpuLook;
  if (look !== null && look.kind !== 'ok') {
    lines.push(
      look.kind === 'absent'
        ? 'nvidia-smi is not installed: processes outside rp cannot be seen'
        : `nvidia-smi did not answer (${look.reason ?? 'no reason given'}): processes outside rp are not shown`,
    );
  }
  return lines;
}

function gpuMemory(gpu: TopGpuRow): string {
  if (gpu.memoryUsedMb === null) {
    return gpu.memoryTotalMb === null ? '-' : `- of ${formatMemory(gpu.memoryTotalMb)}`;
  }
  const total = gpu.memoryTotalMb === null ? '' : ` of ${formatMemory(gpu.memoryTotalMb)}`;
  return `${formatMemory(gpu.memoryUsedMb)}${total}`;
}
