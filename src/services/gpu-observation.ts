/**
 * The host's last look at its GPUs' processes, shared by every rp process through one small file,
 * `$RP_HOME/queue/gpu-processes.json`, the way the inventory is (see host-policy.ts).
 *
 * When nvidia-smi runs (issue 9 wants no nvidia-smi on ordinary commands):
 * - never on a host without GPUs, and never under `gpus.unmanaged: "ignore"` for scheduling;
 * - before a GPU job is queued, and in the periodic look of whatever waits for a GPU job (its
 *   `rp run`, or the host supervisor for detached jobs), so a GPU freed outside rp is noticed;
 * - in `rp ps` and `rp top`, whose question ("who is on GPU 3?") a stored inventory cannot answer;
 * and each time only when the stored look is older than OBSERVE_EVERY_MS, so a host runs it at
 * most about once per that interval whatever the number of waiting jobs and listings. Never under
 * the ledger's lock: the transaction reads the stored look like it reads config.json.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import type { GpuObservation } from '../core/gpu-processes.js';
import type { HostPolicy } from '../core/queue-transitions.js';
import type { LedgerState } from '../core/ledger-state.js';
import { observeGpuProcesses, type GpuLookOptions } from '../host/gpu-processes.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { HOST_FILE_MODE, hostPaths } from './host-files.js';

const debug = createDebug('rp:gpus');

/** In the queue folder: the last look at the GPUs' processes. */
export const GPU_OBSERVATION_FILE = 'gpu-processes.json';
/** A look younger than this is used as it is. */
export const OBSERVE_EVERY_MS = 10_000;

export interface GpuObservationSource {
  readonly path: string;
  /** The stored look, read again only when the file changed; undefined when none is stored. */
  current(): Promise<GpuObservation | undefined>;
  /**
   * Looks again when the host has GPUs and the stored look is older than `maxAgeMs` (or missing),
   * and stores the result; returns the look in force afterwards.
   */
  refresh(
    policy: Pick<HostPolicy, 'capacity'>,
    now: Date,
    maxAgeMs?: number,
  ): Promise<GpuObservation | undefined>;
}

export function openGpuObservationSource(
  rpHome: string,
  options: GpuLookOptions = {},
): GpuObservationSource {
  const path = join(hostPaths(rpHome).queue, GPU_OBSERVATION_FILE);
  let cached: { stamp: string; observation: GpuObservation | undefined } | undefined;

  async function current(): Promise<GpuObservation | undefined> {
    const stamp = await fileStamp(path);
    if (cached !== undefined && cached.stamp === stamp) return cached.observation;
    const observation = stamp === 'missing' ? undefined : await readObservation(path);
    cached = { stamp, observation };
    return observation;
  }

  async function refresh(
    policy: Pick<HostPolicy, 'capacity'>,
    now: Date,
    maxAgeMs = OBSERVE_EVERY_MS,
  ): Promise<GpuObservation | undefined> {
    const stored = await current();
    if (policy.capacity.gpus.length === 0) return stored;
    if (stored !== undefined && isFresh(stored, now, maxAgeMs)) return stored;
    const observation = await observeGpuProcesses(policy.capacity.gpus, now, options);
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFileAtomic(path, `${JSON.stringify(observation)}\n`, { mode: HOST_FILE_MODE });
      await chmod(path, HOST_FILE_MODE).catch(() => undefined);
    } catch (error) {
      // Another user's process will store it; this one still decides with what it saw.
      debug('could not store %s: %s', path, (error as Error).message);
    }
    cached = { stamp: await fileStamp(path), observation };
    return observation;
  }

  return { path, current, refresh };
}

/** Whether a look taken at `observedAt` is younger than `maxAgeMs` (a future one is not). */
export function isFresh(observation: GpuObservation, now: Date, maxAgeMs: number): boolean {
  const age = now.getTime() - Date.parse(observation.observedAt);
  return Number.isFinite(age) && age >= 0 && age < maxAgeMs;
}

/** Whether scheduling needs a look: GPUs exist, `avoid` is in force and a GPU job waits. */
export function wantsGpuLook(
  policy: Pick<HostPolicy, 'capacity' | 'limits'>,
  gpuJobWaiting: boolean,
): boolean {
  return (
    gpuJobWaiting &&
    policy.capacity.gpus.length > 0 &&
    (policy.limits.unmanagedGpus ?? 'avoid') === 'avoid'
  );
}

/** Whether the ledger has a queued job that asks for GPUs. */
export function hasQueuedGpuJob(state: Pick<LedgerState, 'jobs'>): boolean {
  return state.jobs.some((job) => job.state === 'queued' && job.request.gpus > 0);
}

async function readObservation(path: string): Promise<GpuObservation | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isObservation(value) ? value : undefined;
  } catch (error) {
    // Unreadable or half-written by a much older rp: as if nobody had looked.
    debug('ignoring %s: %s', path, (error as Error).message);
    return undefined;
  }
}

function isObservation(value: unknown): value is GpuObservation {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.observedAt === 'string' &&
    (record.kind === 'ok' || record.kind === 'failed' || record.kind === 'absent') &&
    Array.isArray(record.processes) &&
    record.processes.every(
      (process: unknown) =>
        typeof process === 'object' &&
        process !== null &&
        typeof (process as Record<string, unknown>).pid === 'number' &&
        typeof (process as Record<string, unknown>).gpuUuid === 'string',
    )
  );
}

async function fileStamp(path: string): Promise<string> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.ino}-${info.size}-${info.mtimeNs}`;
  } catch {
    return 'missing';
  }
}
