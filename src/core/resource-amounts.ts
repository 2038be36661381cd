/**
 * Amounts of the three resources (GPUs, cores, memory in MB) and the small arithmetic the
 * scheduler and admission do on them: totals, sums, what fits, what a user limit leaves, and the
 * words for what is missing.
 */
import type { HostCapacity, ResourceLimit } from './host-config.js';
import type { Grant, ResourceRequest } from './ledger-state.js';
import type { ResourceKind } from './units.js';
import { formatAmount, formatMemory, RESOURCE_KINDS } from './units.js';

export type Amounts = Record<ResourceKind, number>;

export const NOTHING: Amounts = { gpus: 0, cpus: 0, memoryMb: 0 };

/**
 * The largest fraction of the machine a user holds of any one resource (Dominant Resource
 * Fairness): someone holding 4 of 8 GPUs holds "half the machine" even if they use few cores.
 * Resources the host does not have (no GPUs) do not count.
 */
export function dominantShare(holding: ResourceRequest, capacity: ResourceRequest): number {
  let share = 0;
  for (const kind of RESOURCE_KINDS) {
    if (capacity[kind] > 0) share = Math.max(share, holding[kind] / capacity[kind]);
  }
  return share;
}

/**
 * The ids to grant from `free` (sorted): the lowest run of `count` consecutive ids if there is
 * one, so a job's GPUs (and cores) sit together, else the lowest free ids.
 */
export function pickIds(
  free: readonly number[],
  count: number,
  preferred?: readonly number[],
): number[] {
  if (count <= 0) return [];
  // A booking of specific GPUs hands its own GPUs out first.
  const mine = (preferred ?? []).filter((id) => free.includes(id));
  if (mine.length > 0) {
    const rest = free.filter((id) => !mine.includes(id));
    return [...mine.slice(0, count), ...pickIds(rest, Math.max(0, count - mine.length))].sort(
      (a, b) => a - b,
    );
  }
  for (let start = 0; start + count <= free.length; start += 1) {
    const first = free[start];
    const last = free[start + count - 1];
    if (first !== undefined && last !== undefined && last - first === count - 1) {
      return free.slice(start, start + count);
    }
  }
  return free.slice(0, count);
}

export function capacityTotals(capacity: HostCapacity): Amounts {
  return { gpus: capacity.gpus.length, cpus: capacity.cpus.length, memoryMb: capacity.memoryMb };
}

export function grantAmounts(grant: Grant): Amounts {
  return { gpus: grant.gpus.length, cpus: grant.cpus.length, memoryMb: grant.memoryMb };
}

export function add(a: Amounts, b: ResourceRequest): Amounts {
  return { gpus: a.gpus + b.gpus, cpus: a.cpus + b.cpus, memoryMb: a.memoryMb + b.memoryMb };
}

export function subtract(a: Amounts, b: Amounts): Amounts {
  return { gpus: a.gpus - b.gpus, cpus: a.cpus - b.cpus, memoryMb: a.memoryMb - b.memoryMb };
}

export function nonNegative(a: Amounts): Amounts {
  return {
    gpus: Math.max(0, a.gpus),
    cpus: Math.max(0, a.cpus),
    memoryMb: Math.max(0, a.memoryMb),
  };
}

export function minimum(a: ResourceRequest, b: Amounts): Amounts {
  return {
    gpus: Math.min(a.gpus, b.gpus),
    cpus: Math.min(a.cpus, b.cpus),
    memoryMb: Math.min(a.memoryMb, b.memoryMb),
  };
}

export function fits(need: ResourceRequest, available: Amounts): boolean {
  return RESOURCE_KINDS.every((kind) => need[kind] <= available[kind]);
}

/** The kinds in which `need` on top of what the user holds and has reserved exceeds the limit. */
export function overLimit(
  need: ResourceRequest,
  have: Amounts,
  reserved: Amounts,
  limit: ResourceLimit,
): ResourceKind[] {
  return RESOURCE_KINDS.filter((kind) => {
    const max = limit[kind];
    return max !== undefined && have[kind] + reserved[kind] + need[kind] > max;
  });
}

/** Of what `need` asks, the part the user's limit still leaves room for now (limited kinds only). */
export function headroomFor(need: ResourceRequest, have: Amounts, limit: ResourceLimit): Amounts {
  const room = (kind: ResourceKind): number => {
    const max = limit[kind];
    return max === undefined ? 0 : Math.max(0, Math.min(need[kind], max - have[kind]));
  };
  return { gpus: room('gpus'), cpus: room('cpus'), memoryMb: room('memoryMb') };
}

/** "2 GPUs (0 free), 64 GB memory (12 GB free)": what the job needs and does not find free. */
export function shortfall(need: ResourceRequest, free: Amounts): string {
  return RESOURCE_KINDS.filter((kind) => need[kind] > free[kind])
    .map((kind) => `${formatAmount(kind, need[kind])} (${amountText(kind, free[kind])} free)`)
    .join(', ');
}

/** A bare amount in a resource's unit, for text in parentheses: "3", "12 GB". */
export function amountText(kind: ResourceKind, value: number): string {
  return kind === 'memoryMb' ? formatMemory(value) : String(value);
}
