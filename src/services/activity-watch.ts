/**
 * The drain's loops. `rp activity drain` (what the systemd units start) passes until no file waits
 * to become complete, staying a while for temporary files to be renamed, so that a `.path` unit
 * whose folder still holds a `.part` starts it again at most once a lingering period. `rp activity
 * watch` passes until stopped, for hosts without systemd. The activities are read again on every
 * pass: one added or removed meanwhile is served or left at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Activity } from '../core/activities.js';
import { readActivities } from './activity-store.js';
import { drainPass, emptyReport, type DrainReport } from './activity-drain.js';
import type { BuildReporter } from './build-image.js';
import type { HostSession } from './host-session.js';

export interface LoopOptions {
  session: HostSession;
  /** Only these activities; all of the host's when absent. */
  names?: string[];
  build: BuildReporter;
  /** Between passes. */
  pollMs: number;
  signal: AbortSignal;
  /** Called after every pass that did something. */
  onPass?: (report: DrainReport) => void;
}

/** How long `drain` stays for temporary files (`.part`) when nothing else waits. */
export const LINGER_MS = 60_000;

export async function drainUntilSettled(
  options: LoopOptions & { lingerMs?: number },
): Promise<DrainReport> {
  const total = emptyReport();
  const lingerMs = options.lingerMs ?? LINGER_MS;
  let idleSince: number | undefined;
  while (!options.signal.aborted) {
    const report = await pass(options);
    merge(total, report);
    if (report.waiting === 0) {
      if (report.ignored === 0) break;
      idleSince ??= Date.now();
      if (Date.now() - idleSince >= lingerMs) break;
    } else {
      idleSince = undefined;
    }
    if (!(await pause(options))) break;
  }
  return total;
}

/** Passes until stopped; a pass that fails is reported and the next one tries again. */
export async function watchActivities(
  options: LoopOptions & { onError: (error: unknown) => void },
): Promise<void> {
  while (!options.signal.aborted) {
    await pass(options).catch(options.onError);
    if (!(await pause(options))) return;
  }
}

async function pass(options: LoopOptions): Promise<DrainReport> {
  const activities: Activity[] = await readActivities(options.session.rpHome, options.names);
  const report = await drainPass({ session: options.session, activities, build: options.build });
  const busy = report.queued.length + report.refused.length + report.settled.length > 0;
  if (busy) options.onPass?.(report);
  return report;
}

/** Waits pollMs; false when stopped meanwhile. */
async function pause(options: LoopOptions): Promise<boolean> {
  try {
    await sleep(options.pollMs, undefined, { signal: options.signal });
    return true;
  } catch {
    return false;
  }
}

function merge(total: DrainReport, report: DrainReport): void {
  total.queued.push(...report.queued);
  total.refused.push(...report.refused);
  total.settled.push(...report.settled);
  total.waiting = report.waiting;
  total.deferred = report.deferred;
  total.ignored = report.ignored;
}
