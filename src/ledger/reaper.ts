/**
 * Reaping without a daemon: any rp process that touches the ledger may remove the entries of jobs
 * whose supervising rp process died (SIGKILL, OOM killer, a closed SSH session, a reboot).
 *
 * - A job without a container (queued, or granted but not started) whose supervisor is dead is
 *   removed at once: nobody will ever start it.
 * - A job with a container whose supervisor is dead keeps its resources while the container runs
 *   (the GPUs really are in use), and is removed once Docker says the container is no longer
 *   running. This also covers a supervisor that died between starting the container and marking
 *   the job running.
 *
 * The slow checks (/proc, Docker) run without the lock: a snapshot is read, checked, and the
 * removal transaction then re-checks that each entry is still exactly the one that was judged, so
 * an entry that moved on meanwhile (or was already reaped by another process) is left alone.
 */
import createDebug from 'debug';
import {
  toHistoryRecord,
  type JobEntry,
  type LedgerState,
  type ProcessRef,
} from '../core/ledger-state.js';
import type { Clock } from '../host/clock.js';
import type { LedgerDecision, LedgerStore } from './store.js';

const debug = createDebug('rp:ledger');

/** What to do with a job, given whether its supervisor is alive. */
export type JobVerdict = 'keep' | 'reap' | 'ask-docker';

/** Pure: the first half of the rule above. */
export function classifyJob(job: JobEntry, supervisorAlive: boolean): JobVerdict {
  if (supervisorAlive) return 'keep';
  return job.container ? 'ask-docker' : 'reap';
}

/** Pure: the verdict once Docker has answered for an orphaned job's container. */
export function classifyOrphan(containerRunning: boolean): Exclude<JobVerdict, 'ask-docker'> {
  return containerRunning ? 'keep' : 'reap';
}

/**
 * Whether `current` is still the entry that was judged as `seen`: same job, same state, same
 * supervisor and container. Anything else means it changed after the snapshot; judge it again next
 * time rather than act on stale evidence.
 */
export function isSameEntry(current: JobEntry, seen: JobEntry): boolean {
  return (
    current.id === seen.id &&
    current.seq === seen.seq &&
    current.state === seen.state &&
    current.supervisor.pid === seen.supervisor.pid &&
    current.supervisor.startTime === seen.supervisor.startTime &&
    current.container?.id === seen.container?.id
  );
}

/**
 * Pure: removes `victims` from `state` where they are unchanged, with a 'reaped' history line
 * each. Returns the same state object when nothing is removed, so the store does not write.
 */
export function planReap(
  state: LedgerState,
  victims: readonly JobEntry[],
  endedAt: string,
): LedgerDecision<JobEntry[]> {
  const removed = state.jobs.filter((job) => victims.some((victim) => isSameEntry(job, victim)));
  if (removed.length === 0) return { state, result: [] };
  return {
    state: { ...state, jobs: state.jobs.filter((job) => !removed.includes(job)) },
    result: removed,
    history: removed.map((job) => toHistoryRecord(job, { ending: 'reaped', endedAt })),
  };
}

export interface ReapDeps {
  isProcessAlive: (ref: ProcessRef) => Promise<boolean>;
  /** Whether the container still runs. Called without the ledger lock held. */
  containerIsRunning: (containerId: string) => Promise<boolean>;
  clock: Clock;
  /** Where to report a container check that failed. Default: debug output only. */
  warn?: (line: string) => void;
}

export interface ReapReport {
  /** Entries removed by this call (not those another process removed first). */
  reaped: JobEntry[];
  /** Jobs whose supervisor is dead but whose container still runs; they keep their resources. */
  orphansRunning: JobEntry[];
  /** Orphans whose container could not be checked (Docker failed); kept, to be checked again. */
  unchecked: JobEntry[];
}

/** Removes the entries of dead jobs from the ledger (see the top of this file). */
export async function reapDead(store: LedgerStore, deps: ReapDeps): Promise<ReapReport> {
  const snapshot = await store.read();
  const victims: JobEntry[] = [];
  const orphansRunning: JobEntry[] = [];
  const unchecked: JobEntry[] = [];

  const alive = await Promise.all(snapshot.jobs.map((job) => deps.isProcessAlive(job.supervisor)));
  for (const [index, job] of snapshot.jobs.entries()) {
    let verdict = classifyJob(job, alive[index] ?? true);
    if (verdict === 'ask-docker' && job.container) {
      try {
        verdict = classifyOrphan(await deps.containerIsRunning(job.container.id));
      } catch (error) {
        // Keep the job: releasing the GPUs of a container that may still run is the worse mistake.
        const line = `could not check the container of job ${job.id}: ${(error as Error).message}`;
        (deps.warn ?? debug)(line);
        unchecked.push(job);
        continue;
      }
      if (verdict === 'keep') orphansRunning.push(job);
    }
    if (verdict === 'reap') victims.push(job);
  }

  if (victims.length === 0) return { reaped: [], orphansRunning, unchecked };
  const endedAt = deps.clock.now().toISOString();
  const reaped = await store.transact((state) => planReap(state, victims, endedAt));
  if (reaped.length > 0) debug('reaped %s', reaped.map((job) => job.id).join(', '));
  return { reaped, orphansRunning, unchecked };
}
