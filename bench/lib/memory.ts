/** Memory readings from /proc (Linux). */
import { readFile } from 'node:fs/promises';

async function statusField(path: string, field: string): Promise<number | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MiB (VmRSS), undefined when it is gone. */
export function residentMiB(pid: number): Promise<number | undefined> {
  return statusField(`/proc/${pid}/status`, 'VmRSS');
}

/** MemAvailable of the machine in MiB. */
export async function availableMiB(): Promise<number> {
  return (await statusField('/proc/meminfo', 'MemAvailable')) ?? 0;
}

export async function totalMiB(): Promise<number> {
  return (await statusField('/proc/meminfo', 'MemTotal')) ?? 0;
}

/**
 * CPU time the whole machine spent busy since boot, in seconds (user, nice, system, irq, softirq,
 * steal from /proc/stat; USER_HZ is 100 on Linux). Differences of two readings give the CPU cost of
 * what ran in between, everything on the machine included.
 */
export async function machineBusySeconds(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = (/^cpu\s+(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}
