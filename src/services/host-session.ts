/**
 * What every job command needs on this host: its capacity and limits, the ledger, the Docker
 * engine, and the means to tell live processes and containers from dead ones.
 */
import { chmod, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerState } from '../core/ledger-state.js';
import { schedule, type HostPolicy } from '../core/queue-transitions.js';
import { killWaitOf } from '../core/time-limits.js';
import type { ContainerEngine } from '../docker/engine.js';
import { systemClock, type Clock } from '../host/clock.js';
import { isProcessAlive } from '../host/process.js';
import { reapDead, type ContainerStatus, type ReapReport } from '../ledger/reaper.js';
import { openLedger, type LedgerDecision, type LedgerStore } from '../ledger/store.js';
import { slurmJobIds } from '../ledger/slurm-jobs.js';
import { engineIdentity } from './engine-identity.js';
import { rpHomeFromEnv } from './host-files.js';
import { openPolicySource } from './host-policy.js';
import { ensureHostSupervisor } from './supervisor-start.js';
import {
  openGpuObservationSource,
  wantsGpuLook,
  type GpuObservationSource,
} from './gpu-observation.js';

export interface HostSession {
  rpHome: string;
  /**
   * The capacity and limits in force now (config.json and the stored inventory, read again when
   * they change), for decisions made without the lock: listings, and whether to take it at all.
   */
  policy(): Promise<HostPolicy>;
  /** A ledger transaction that decides under the policy read while the lock is held. */
  transact<T>(decide: (state: LedgerState, policy: HostPolicy) => LedgerDecision<T>): Promise<T>;
  store: LedgerStore;
  engine: ContainerEngine;
  clock: Clock;
  /**
   * Removes ledger entries whose process and container are gone, and starts a host supervisor
   * when detached jobs have none.
   */
  reap(): Promise<ReapReport>;
  /**
   * Looks at the GPUs' processes again when scheduling needs it (`gpuJobWaiting`, GPUs on the
   * host, `gpus.unmanaged: "avoid"`) and the stored look is stale; never under the lock. See
   * src/services/gpu-observation.ts for when nvidia-smi runs.
   */
  lookAtGpus(gpuJobWaiting: boolean): Promise<void>;
  /** The stored look at the GPUs' processes, for listings (`rp ps`, `rp top`). */
  gpus: GpuObservationSource;
  /**
   * reap(), unless some rp process on the host reaped less than REAP_DUE_MS ago (undefined then):
   * a hundred waiting jobs need not each read /proc for every entry every few seconds.
   */
  reapIfDue(): Promise<ReapReport | undefined>;
}

export async function openHostSession(
  docker: ContainerEngine,
  clock: Clock = systemClock,
): Promise<HostSession> {
  const rpHome = rpHomeFromEnv(process.env);
  // Every engine call for the queue first checks, once, that this is the ledger's engine.
  const dockerHost = process.env.DOCKER_HOST;
  const { engine, guardStore } = engineIdentity({ rpHome, engine: docker, clock, dockerHost });
  const policySource = openPolicySource(rpHome);
  await policySource.refreshIfStale();
  // A config or inventory that cannot be used is an error now, before anything is queued.
  await policySource.current();
  const store = guardStore(
    await openLedger({ rpHome, clock, recover: () => engine.listJobContainers(rpHome) }),
  );
  const gpus = openGpuObservationSource(rpHome);
  // The policy carries the stored look at the GPUs, so every decision (in a transaction too)
  // keeps GPUs busy outside rp out of grants; reading it is a stat when nothing changed.
  // It also carries the ids a Slurm cluster's jobs hold, which no job here may take.
  const policy = async (): Promise<HostPolicy> => {
    const current = await policySource.current();
    const gpuObservation = current.capacity.gpus.length === 0 ? undefined : await gpus.current();
    const idsElsewhere = await slurmJobIds(rpHome);
    return {
      ...current,
      ...(gpuObservation === undefined ? {} : { gpuObservation }),
      ...(idsElsewhere.size === 0 ? {} : { idsElsewhere }),
    };
  };
  const reapDeadJobs = reaper(rpHome, store, engine, clock, () => policySource.current());
  // A reaping pass also starts a host supervisor when detached jobs have none (it was killed, or
  // the host rebooted): nothing else would ever start or record them.
  const reap = async (): Promise<ReapReport> => {
    const report = await reapDeadJobs();
    await tendBookingsNow(session);
    await ensureHostSupervisor(session);
    return report;
  };
  const session: HostSession = {
    rpHome,
    policy,
    transact: (decide) => store.transactWith(policy, decide),
    lookAtGpus: async (gpuJobWaiting) => {
      const current = await policySource.current();
      if (wantsGpuLook(current, gpuJobWaiting)) await gpus.refresh(current, clock.now());
    },
    gpus,
    store,
    engine,
    clock,
    reap,
    reapIfDue: async () => ((await claimReap(store.paths.dir)) ? reap() : undefined),
  };
  return session;
}

/**
 * Bookings change with time alone (one starts, ends, or goes idle), not only with transactions:
 * a reaping pass (rp ps, rp queue, rp bookings, waiting jobs) schedules when the ledger has
 * bookings and the scheduler would change something, so an idle booking is released, and what an
 * ended one held is handed on, without waiting for the next submission.
 */
async function tendBookingsNow(session: HostSession): Promise<void> {
  const state = await session.store.read();
  if (state.bookings === undefined) return;
  const policy = await session.policy();
  if (schedule(state, policy, session.clock.now()).state === state) return;
  await session.transact((current, latest) => ({
    ...schedule(current, latest, session.clock.now()),
    result: undefined,
  }));
}

/** How often, at most, waiting jobs reap on the host (see HostSession.reapIfDue). */
export const REAP_DUE_MS = 5_000;
/** In the queue folder: when a waiting job last reaped (its mtime), shared by every process. */
const REAPED_STAMP = 'reaped';

/**
 * Whether it is this process's turn to reap: the stamp is older than REAP_DUE_MS (or missing), and
 * this process has just renewed it. Two processes may both win a race; reaping twice is harmless.
 */
async function claimReap(queueDir: string): Promise<boolean> {
  const stamp = join(queueDir, REAPED_STAMP);
  try {
    const { mtimeMs } = await stat(stamp);
    if (Date.now() - mtimeMs < REAP_DUE_MS && mtimeMs <= Date.now()) return false;
  } catch {
    // No stamp yet (or none we can read): reap.
  }
  // Writing, rather than utimes, needs only write permission: the stamp is the group's.
  await writeFile(stamp, `${new Date().toISOString()}\n`, { mode: 0o664 })
    .then(() => chmod(stamp, 0o664))
    .catch(() => undefined);
  return true;
}

/** Reaping: dead entries, then the containers of jobs that are over (see src/ledger/reaper.ts). */
function reaper(
  rpHome: string,
  store: LedgerStore,
  engine: ContainerEngine,
  clock: Clock,
  policy: () => Promise<HostPolicy>,
): () => Promise<ReapReport> {
  const containerStatus = async (id: string): Promise<ContainerStatus> => {
    const state = await engine.inspectContainer(id);
    if (state === undefined) return { running: false };
    const { running, finishedAt, exitCode } = state;
    return {
      running,
      ...(finishedAt === undefined ? {} : { finishedAt }),
      ...(exitCode === undefined ? {} : { exitCode }),
    };
  };
  const containers = {
    list: () => engine.listQueueContainers(rpHome),
    remove: (id: string) => engine.remove(id),
  };
  return async () => {
    const timeLimits = {
      killWaitSeconds: killWaitOf((await policy()).limits),
      signal: (id: string, signal: string) => engine.signal(id, signal),
    };
    return reapDead(store, { isProcessAlive, containerStatus, timeLimits, clock, containers });
  };
}
