/**
 * Units shown to people. rp counts memory in whole MiB internally (sums never drift); people write
 * and read GB. A "GB" here is a GiB (1024 MiB), the same unit Docker's `--memory 16g` uses, so an
 * amount in the host config means what it means on a `docker run` command line.
 */

export const MB_PER_GB = 1024;

/** Whole MiB in `gb` GB (rounded down, so a configured amount is never exceeded). */
export function gbToMb(gb: number): number {
  return Math.floor(gb * MB_PER_GB);
}

/** "512 MB" below one GB, else GB with at most one decimal: "16 GB", "7.5 GB". */
export function formatMemory(mb: number): string {
  if (Math.abs(mb) < MB_PER_GB) return `${mb} MB`;
  const gb = Math.round((mb / MB_PER_GB) * 10) / 10;
  return `${gb} GB`;
}

/** "1 GPU", "2 GPUs", "0 GPUs". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** "1 GPU" / "4 CPUs" / "16 GB memory": one amount of one kind of resource. */
export function formatAmount(kind: ResourceKind, amount: number): string {
  switch (kind) {
    case 'gpus':
      return plural(amount, 'GPU');
    case 'cpus':
      return plural(amount, 'CPU');
    case 'memoryMb':
      return `${formatMemory(amount)} memory`;
  }
}

/** The three resources rp hands out, named as the fields of a ResourceRequest. */
export type ResourceKind = 'gpus' | 'cpus' | 'memoryMb';

export const RESOURCE_KINDS: readonly ResourceKind[] = ['gpus', 'cpus', 'memoryMb'];

/**
 * Ids as short ranges: [0,1,2,3,6] → "0-3,6". The same syntax as Docker's `--cpuset-cpus`, which
 * is also how people read core lists in `rp host show`.
 */
export function formatIdRanges(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  for (const id of sorted) {
    if (start !== undefined && prev !== undefined && id === prev + 1) {
      prev = id;
      continue;
    }
    if (start !== undefined && prev !== undefined) parts.push(rangeText(start, prev));
    start = id;
    prev = id;
  }
  if (start !== undefined && prev !== undefined) parts.push(rangeText(start, prev));
  return parts.join(',');
}

function rangeText(start: number, end: number): string {
  return start === end ? String(start) : `${start}-${end}`;
}

/** Bytes as people read them: 1.5 GiB, 320 KiB, 12 B. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
