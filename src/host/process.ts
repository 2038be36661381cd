/**
 * Process identity without a daemon. A ledger entry names the rp process that supervises it by
 * pid *and* start time (field 22 of /proc/<pid>/stat), plus the boot id, so that a pid the kernel
 * has since handed to another process is not mistaken for the supervisor: a pid that exists with a
 * different start time is dead for us.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import type { ProcessRef } from '../core/ledger-state.js';

/** The fields of /proc/<pid>/stat that rp uses. */
export interface ProcStat {
  pid: number;
  /** The executable's name as the kernel keeps it (up to 15 bytes, any characters). */
  comm: string;
  /** One letter: R, S, D, Z (zombie), X (dead), T, t, I, ... */
  state: string;
  /** Field 22: clock ticks after boot when the process started, as a decimal string. */
  startTime: string;
}

/**
 * Parses one /proc/<pid>/stat line. The second field is the command name in parentheses, and
 * that name may itself contain spaces and parentheses ("(a) (b)" is a legal name), so the fields
 * after it are found from the LAST ')' on the line; splitting on spaces from the start is wrong.
 * Returns undefined for text that is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // After ") " come fields 3 (state), 4 (ppid), ... so field n is at index n - 3.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const startTime = rest[22 - 3];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { pid, comm: text.slice(open + 2, close), state, startTime };
}

/** The stat of `pid`, or undefined when no such process is visible in /proc. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (isNoSuchProcess(error)) return undefined;
    throw error;
  }
  return parseProcStat(text);
}

let bootIdCache: Promise<string | undefined> | undefined;

/** This boot's id, or undefined on a kernel without one (never a reason to fail). */
export function readBootId(): Promise<string | undefined> {
  bootIdCache ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
  return bootIdCache;
}

/** The ref of process `pid` as it is now, or undefined when it does not exist. */
export async function processRefOf(pid: number): Promise<ProcessRef | undefined> {
  const stat = await readProcStat(pid);
  if (!stat) return undefined;
  const bootId = await readBootId();
  return bootId === undefined
    ? { pid, startTime: stat.startTime }
    : { pid, startTime: stat.startTime, bootId };
}

let currentRef: Promise<ProcessRef> | undefined;

/** The ref of this process, for ledger entries it supervises. */
export function currentProcessRef(): Promise<ProcessRef> {
  currentRef ??= processRefOf(process.pid).then((ref) => {
    if (!ref) {
      throw new ConfigError(`cannot read /proc/${process.pid}/stat to identify this process`, {
        hint: 'rp needs Linux with /proc mounted',
      });
    }
    return ref;
  });
  return currentRef;
}

/**
 * Whether the process `ref` names still runs. Dead: no such pid, a pid with another start time
 * (reused), a zombie (it has exited; only its parent has not collected it yet), or a ref from an
 * earlier boot.
 *
 * One case errs towards "alive": /proc mounted with hidepid hides other users' processes, so a
 * pid missing from /proc that kill(pid, 0) still finds (EPERM) is assumed to be the supervisor,
 * since its start time cannot be checked. Wrongly keeping a job only delays its cleanup; wrongly
 * reaping it would hand its GPUs to someone else while it runs.
 */
export async function isProcessAlive(ref: ProcessRef): Promise<boolean> {
  const bootId = await readBootId();
  if (ref.bootId !== undefined && bootId !== undefined && ref.bootId !== bootId) return false;
  const stat = await readProcStat(ref.pid);
  if (!stat) return signalProbeFindsProcess(ref.pid);
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return stat.startTime === ref.startTime;
}

function signalProbeFindsProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isNoSuchProcess(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ESRCH: the process exited between opening and reading its stat file.
  return code === 'ENOENT' || code === 'ESRCH';
}
