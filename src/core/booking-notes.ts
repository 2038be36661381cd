/**
 * What to tell someone who just booked: the jobs already holding what the booking needs that may
 * still hold it when the booking starts. A booking keeps out jobs started after it, not those
 * already running, so a job without a time limit (or with one that ends after the start) may keep
 * its GPUs into the booking. Pure: the ledger's jobs, the booking, the host and `now` are passed in.
 */
import type { Booking, JobEntry } from './ledger-state.js';
import type { HostCapacity } from './host-config.js';
import { jobLabel } from './ledger-state.js';
import { latestEndMs } from './time-limits.js';
import { RESOURCE_KINDS, type ResourceKind } from './units.js';

/** A job that may be in the booking's way, and what of the booking's it holds. */
export interface BookingObstacle {
  /** As users type it: "1234", or "1234_7". */
  job: string;
  user: string;
  /** Only the kinds the booking is short of; 0 for the others. */
  holds: Record<ResourceKind, number>;
  /** The GPUs it holds that the booking names (`--gpu-ids`). */
  gpuIds: number[];
  /** When it gives them back at the latest (ISO); null without a time limit. */
  until: string | null;
}

type HeldJob = Pick<
  JobEntry,
  'id' | 'array' | 'user' | 'grant' | 'timeLimit' | 'deadline' | 'booking'
>;

/**
 * The jobs holding resources now that may still hold them when `booking` starts, and whose
 * holdings leave less than the booking needs of some kind (or hold a GPU it names). Jobs that are
 * sure to be gone by then, and jobs whose holdings leave room for the booking anyway, are not
 * named: warning about them would teach people to ignore the warning.
 */
export function bookingObstacles(
  jobs: readonly HeldJob[],
  booking: Pick<Booking, 'start' | 'request' | 'gpuIds'>,
  capacity: HostCapacity,
  now: Date,
  killWaitSeconds: number,
): BookingObstacle[] {
  const start = Date.parse(booking.start);
  const staying = jobs
    .filter((job) => job.grant !== undefined)
    .map((job) => ({ job, end: heldUntil(job, now, killWaitSeconds) }))
    .filter(({ end }) => end > start);
  const total: Record<ResourceKind, number> = {
    gpus: capacity.gpus.length,
    cpus: capacity.cpus.length,
    memoryMb: capacity.memoryMb,
  };
  const short = RESOURCE_KINDS.filter((kind) => {
    if (booking.request[kind] === 0) return false;
    const held = staying.reduce((sum, { job }) => sum + heldOf(job, kind), 0);
    return held + booking.request[kind] > total[kind];
  });
  const named = new Set(booking.gpuIds ?? []);
  return staying.flatMap(({ job, end }) => {
    const holds = { gpus: 0, cpus: 0, memoryMb: 0 };
    for (const kind of short) holds[kind] = heldOf(job, kind);
    const gpuIds = (job.grant?.gpus ?? []).filter((id) => named.has(id)).sort((a, b) => a - b);
    if (RESOURCE_KINDS.every((kind) => holds[kind] === 0) && gpuIds.length === 0) return [];
    if (gpuIds.length > holds.gpus) holds.gpus = job.grant?.gpus.length ?? 0;
    const until = Number.isFinite(end) ? new Date(end).toISOString() : null;
    return [{ job: jobLabel(job), user: job.user, holds, gpuIds, until }];
  });
}

/** When the job has given back what it holds at the latest: its limit, or its booking's end. */
function heldUntil(job: HeldJob, now: Date, killWaitSeconds: number): number {
  const limit = latestEndMs(job, now, killWaitSeconds);
  if (job.booking === undefined) return limit;
  const until = Date.parse(job.booking.until);
  return Number.isNaN(until) ? limit : Math.min(limit, until + killWaitSeconds * 1000);
}

function heldOf(job: HeldJob, kind: ResourceKind): number {
  const grant = job.grant;
  if (grant === undefined) return 0;
  return kind === 'memoryMb' ? grant.memoryMb : grant[kind].length;
}
