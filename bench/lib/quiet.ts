/**
 * Waiting for a quiet machine before something is timed. The 1-minute load average lags by a
 * minute: a section that follows 64 busy processes "begins at load 42" long after they ended.
 * /proc/stat says how busy the cores were over the last half second instead.
 */
import { cpus } from 'node:os';
import { machineBusySeconds } from './memory.js';
import { sleep } from './process.js';

export interface Quiet {
  /** The share of every core that was busy over the last window, 0–1. */
  busy: number;
  /** How long it took to get there (or to give up). */
  waitedSeconds: number;
}

/** The busy share of every core over one window of `windowMs`. */
async function busyShare(windowMs: number): Promise<number> {
  const before = await machineBusySeconds();
  await sleep(windowMs);
  const after = await machineBusySeconds();
  return (after - before) / (windowMs / 1000) / cpus().length;
}

/**
 * Waits until the cores were less than `below` busy over one window, for at most `timeoutMs`; says
 * where it got to. It does not fail when the machine stays busy: the caller records the figure.
 */
export async function waitForQuietCpu(
  options: { below?: number; windowMs?: number; timeoutMs?: number } = {},
): Promise<Quiet> {
  const { below = 0.15, windowMs = 500, timeoutMs = 60_000 } = options;
  const started = performance.now();
  for (;;) {
    const busy = await busyShare(windowMs);
    const waitedSeconds = (performance.now() - started) / 1000;
    if (busy < below || waitedSeconds * 1000 >= timeoutMs) return { busy, waitedSeconds };
  }
}
