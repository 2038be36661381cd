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
 *
 * Detached jobs (`rp run --detach`) are never reaped: they have no process of their own, and the
 * host supervisor (src/services/host-supervisor.ts) starts them and records their ends, including
 * those that ended while no supervisor was alive.
 *
 * Containers: every job container rp created is removed once its job is over, even when the
 * supervisor that should have removed it died (SIGKILL, OOM killer, reboot), died between creating
 * and starting it, or failed on the way out (a release that threw, a Docker hiccup). After the
 * entries, the reaper lists the queue's containers and removes the created or exited ones whose
 * job is not live (planContainerRemoval). Listing asks Docker, which `rp ps` otherwise never does,
 * so it only happens when this pass reaped an entry (whose container may be left) or when the
 * last listing on this host is more than CONTAINER_SWEEP_INTERVAL_MS old (a stamp file in the host
 * directory says when): leftovers of jobs that left the ledger cleanly are found within a minute
 * of the next rp command, and a listing costs one Docker call a minute at most.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import {
  toHistoryRecord,
  type HistoryRecord,
  type JobEntry,
  type LedgerState,
  type ProcessRef,
} from '../core/ledger-state.js';
import { endedByTimeLimit, overdueAction } from '../core/time-limits.js';
import type { Clock } from '../host/clock.js';
import { writeFileAtomic } from './atomic-write.js';
import { EngineMismatchError } from './engine-id.js';
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
 * Pure: removes `victims` from `state` where they are unchanged, with a history line each:
 * 'reaped', or 'timeout' for a job whose container ended at or after its deadline. `ends` holds
 * what Docker said of a victim's container (by job key): its end time and exit code, recorded in
 * place of the reaping time. Returns the same state object when nothing is removed, so the store
 * does not write.
 */
export function planReap(
  state: LedgerState,
  victims: readonly JobEntry[],
  endedAt: string,
  ends: ReadonlyMap<string, ContainerStatus> = new Map(),
): LedgerDecision<JobEntry[]> {
  const removed = state.jobs.filter((job) => victims.some((victim) => isSameEntry(job, victim)));
  if (removed.length === 0) return { state, result: [] };
  const recordOf = (job: JobEntry): HistoryRecord => {
    const end = ends.get(`${job.id}:${job.seq}`);
    const at = end?.finishedAt ?? endedAt;
    const ending = endedByTimeLimit(job, new Date(at)) ? 'timeout' : 'reaped';
    const exitCode = end?.exitCode === undefined ? {} : { exitCode: end.exitCode };
    return toHistoryRecord(job, { ending, endedAt: at, ...exitCode });
  };
  return {
    state: { ...state, jobs: state.jobs.filter((job) => !removed.includes(job)) },
    result: removed,
    history: removed.map(recordOf),
  };
}

/** How long after the last listing of the queue's containers the next one is due anyway. */
export const CONTAINER_SWEEP_INTERVAL_MS = 60_000;
/** In the host directory: the time of the last listing (ISO text), shared by every rp process. */
export const CONTAINER_SWEEP_STAMP = 'containers-swept';

/** A job container as the engine lists it (src/docker's QueueContainer). */
export interface JobContainer {
  id: string;
  name: string;
  /** Docker's state: created, running, paused, restarting, removing, exited or dead. */
  state: string;
  /** From its labels; seq is undefined when the label is missing. */
  job: { id: string; seq: number | undefined };
}

/** States of a container that holds nothing: never started, or ended. */
const LEFTOVER_STATES: ReadonlySet<string> = new Set(['created', 'exited', 'dead']);

/** Pure: the ledger entries a container belongs to (same id and seq: ids are reused). */
export function ownersOf(state: LedgerState, container: JobContainer): JobEntry[] {
  const { id, seq } = container.job;
  // Without a seq label, any entry with the id may own it: keeping a leftover is the safe error.
  return state.jobs.filter((job) => job.id === id && (seq === undefined || job.seq === seq));
}

/**
 * Pure: the containers to remove. Only created (never started), exited or dead ones, and only when
 * their job is not live: it has left the ledger, or its supervisor is dead. Running containers are
 * never chosen (an orphan's keeps its GPUs until it exits), and neither is the created container
 * of a live job: a granted job's supervisor creates it before marking the job running.
 *
 * `state` must have been read after `containers` were listed: a job submitted after an earlier
 * read may already have a created container, and must be found in the ledger, live.
 */
export function planContainerRemoval(
  state: LedgerState,
  containers: readonly JobContainer[],
  supervisorAlive: (job: JobEntry) => boolean,
): JobContainer[] {
  return containers.filter(
    (container) =>
      LEFTOVER_STATES.has(container.state) &&
      ownersOf(state, container).every((job) => !supervisorAlive(job)),
  );
}

/**
 * Pure: whether to list the queue's containers now: after reaping an entry (its container may be
 * left), when no listing is on record (or its stamp is unreadable or in the future), or when the
 * last one is CONTAINER_SWEEP_INTERVAL_MS old.
 */
export function containerSweepDue(
  reapedAny: boolean,
  lastSweep: Date | undefined,
  now: Date,
): boolean {
  if (reapedAny || lastSweep === undefined) return true;
  const age = now.getTime() - lastSweep.getTime();
  return Number.isNaN(age) || age < 0 || age >= CONTAINER_SWEEP_INTERVAL_MS;
}

/** What the reaper may do with the queue's containers. */
export interface ContainerSweep {
  /** This queue's job containers in every state. Called without the ledger lock held. */
  list: () => Promise<JobContainer[]>;
  /** Removes a container; an absent one is fine. */
  remove: (containerId: string) => Promise<void>;
}

/** What Docker says of an orphan's container (not running also when it is gone). */
export interface ContainerStatus {
  running: boolean;
  /** ISO; when it ended, if it did. */
  finishedAt?: string;
  exitCode?: number;
}

export interface ReapDeps {
  isProcessAlive: (ref: ProcessRef) => Promise<boolean>;
  /** Whether the container still runs, and how it ended. Called without the ledger lock held. */
  containerStatus: (containerId: string) => Promise<ContainerStatus>;
  /**
   * Stops the running container of an orphan whose time is up (SIGTERM from its deadline,
   * SIGKILL from the end of the kill wait): its own supervisor, which would have, is gone.
   */
  timeLimits?: {
    killWaitSeconds: number;
    signal: (containerId: string, signal: string) => Promise<void>;
  };
  clock: Clock;
  /** Where to report a container check that failed. Default: debug output only. */
  warn?: (line: string) => void;
  /** Also remove leftover containers (see the top of this file). Without it, entries only. */
  containers?: ContainerSweep;
}

export interface ReapReport {
  /** Entries removed by this call (not those another process removed first). */
  reaped: JobEntry[];
  /** Jobs whose supervisor is dead but whose container still runs; they keep their resources. */
  orphansRunning: JobEntry[];
  /** Orphans whose container could not be checked (Docker failed); kept, to be checked again. */
  unchecked: JobEntry[];
  /** Leftover containers this call removed (absent when it did not list them). */
  removedContainers?: JobContainer[];
}

/** Removes the entries of dead jobs from the ledger (see the top of this file). */
export async function reapDead(store: LedgerStore, deps: ReapDeps): Promise<ReapReport> {
  const snapshot = await store.read();
  const victims: JobEntry[] = [];
  const orphansRunning: JobEntry[] = [];
  const unchecked: JobEntry[] = [];

  const ends = new Map<string, ContainerStatus>();
  const alive = await Promise.all(snapshot.jobs.map((job) => isLive(job, deps)));
  for (const [index, job] of snapshot.jobs.entries()) {
    let verdict = classifyJob(job, alive[index] ?? true);
    // A job preempted for a booking is stopped by whoever passes, its supervisor alive or not.
    if (verdict === 'keep' && job.preempted !== undefined && job.container) {
      await stopIfOverdue(job, job.container.id, deps);
    }
    if (verdict === 'ask-docker' && job.container) {
      try {
        const status = await deps.containerStatus(job.container.id);
        verdict = classifyOrphan(status.running);
        ends.set(`${job.id}:${job.seq}`, status);
        if (status.running) await stopIfOverdue(job, job.container.id, deps);
      } catch (error) {
        // This process reaches another engine than the ledger's: it sees none of its containers.
        if (error instanceof EngineMismatchError) throw error;
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

  let reaped: JobEntry[] = [];
  if (victims.length > 0) {
    const endedAt = deps.clock.now().toISOString();
    reaped = await store.transact((state) => planReap(state, victims, endedAt, ends));
    if (reaped.length > 0) debug('reaped %s', reaped.map((job) => job.id).join(', '));
    // A waiter killed with SIGKILL left its bell hanging (see job-bells.ts).
    await Promise.all(reaped.map((job) => store.bells.remove(job)));
  }
  if (!deps.containers) return { reaped, orphansRunning, unchecked };
  const removedContainers = await removeLeftoverContainers(store, deps, deps.containers, reaped);
  return removedContainers === undefined
    ? { reaped, orphansRunning, unchecked }
    : { reaped, orphansRunning, unchecked, removedContainers };
}

/** Sends an orphan's running container what its deadline calls for now, if anything. */
async function stopIfOverdue(job: JobEntry, containerId: string, deps: ReapDeps): Promise<void> {
  const limits = deps.timeLimits;
  if (limits === undefined) return;
  const action = overdueAction(job, deps.clock.now(), limits.killWaitSeconds);
  if (action === 'none') return;
  debug('job %s is past its deadline: %s', job.id, action);
  await limits.signal(containerId, action).catch((error: unknown) => {
    (deps.warn ?? debug)(
      `could not stop job ${job.id} at its time limit: ${(error as Error).message}`,
    );
  });
}

/**
 * Whether a job is looked after: its supervising process lives, or it is detached. A detached
 * job's entry and containers belong to the host supervisor, even while none is alive: the next
 * one starts it, or records its exit code from its container, which must still be there then.
 */
function isLive(job: JobEntry, deps: ReapDeps): Promise<boolean> {
  return job.detached ? Promise.resolve(true) : deps.isProcessAlive(job.supervisor);
}

/**
 * Lists the queue's containers when a listing is due and removes the leftovers. Returns what it
 * removed, or undefined when it did not list (not due, or Docker failed: the next pass retries).
 */
async function removeLeftoverContainers(
  store: LedgerStore,
  deps: ReapDeps,
  sweep: ContainerSweep,
  reaped: readonly JobEntry[],
): Promise<JobContainer[] | undefined> {
  const stamp = join(store.paths.dir, CONTAINER_SWEEP_STAMP);
  const now = deps.clock.now();
  if (!containerSweepDue(reaped.length > 0, await readSweepStamp(stamp), now)) return undefined;
  const warn = deps.warn ?? debug;
  let containers: JobContainer[];
  try {
    debug('listing the queue containers');
    containers = await sweep.list();
  } catch (error) {
    if (error instanceof EngineMismatchError) throw error;
    warn(`could not list the job containers: ${(error as Error).message}`);
    return undefined;
  }
  // Read after listing (see planContainerRemoval), and ask /proc only about the candidates' jobs.
  const state = await store.read();
  const candidates = containers.filter((container) => LEFTOVER_STATES.has(container.state));
  const owners = [...new Set(candidates.flatMap((container) => ownersOf(state, container)))];
  const alive = await Promise.all(owners.map((job) => isLive(job, deps)));
  const live = new Set(owners.filter((_job, index) => alive[index] ?? true));
  const doomed = planContainerRemoval(state, candidates, (job) => live.has(job));

  const removed: JobContainer[] = [];
  for (const container of doomed) {
    try {
      debug('removing %s (%s) of job %s', container.name, container.state, container.job.id);
      await sweep.remove(container.id);
      removed.push(container);
    } catch (error) {
      warn(`could not remove container ${container.name}: ${(error as Error).message}`);
    }
  }
  await writeSweepStamp(stamp, now);
  return removed;
}

/** When the queue's containers were last listed; undefined when unknown. */
async function readSweepStamp(path: string): Promise<Date | undefined> {
  try {
    const at = new Date((await readFile(path, 'utf8')).trim());
    return Number.isNaN(at.getTime()) ? undefined : at;
  } catch {
    // Missing, or not readable by this user: list, which is only slower.
    return undefined;
  }
}

/** Best effort: a stamp that cannot be written only means another listing sooner. */
async function writeSweepStamp(path: string, at: Date): Promise<void> {
  try {
    // Replaced by rename, which needs write access to the directory only, like the ledger.
    await writeFileAtomic(path, `${at.toISOString()}\n`, { mode: 0o664 });
  } catch (error) {
    debug('could not write %s: %s', path, (error as Error).message);
  }
}
