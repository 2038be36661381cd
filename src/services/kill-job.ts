/**
 * `rp kill`: ends one of your jobs (any job, for root). The decision is pure (src/core/kill.ts)
 * and made in one locked ledger transaction; the slow part, stopping a running container, happens
 * after the lock is released.
 *
 * - Not started (queued or granted): the entry leaves the ledger with history 'killed'; the job's
 *   waiting `rp run` sees it gone and exits non-zero saying it was killed.
 * - Running: its container is stopped (SIGTERM, a grace period, then SIGKILL). Its `rp run` then
 *   sees the container exit, removes it, releases the resources and exits with the container's
 *   code. If that `rp run` is dead, nobody else would, so rp kill removes the container and the
 *   entry itself. Either way rp kill waits (a bounded time) for the entry to go, so that what it
 *   reports, and what `rp ps` shows right after, is true.
 */
import createDebug from 'debug';
import {
  isSameJob,
  killedOutcome,
  killResult,
  planKills,
  removeStoppedJob,
  type KillCleanup,
  type KillPlan,
  type KillRequester,
  type KillResult,
} from '../core/kill.js';
import { isJob, type JobEntry, type ProcessRef } from '../core/ledger-state.js';
import { isProcessAlive as isProcessAliveOnHost } from '../host/process.js';
import type { HostSession } from './host-session.js';

const debug = createDebug('rp:kill');

/** Seconds a killed job gets to exit on its own before SIGKILL; the same as Ctrl+C on `rp run`. */
export const KILL_GRACE_SECONDS = 10;
/** How long rp kill waits for a live `rp run` to clean up after its container stopped. */
export const SETTLE_TIMEOUT_MS = 30_000;
/** How often the supervisor is looked at again while waiting (it may die meanwhile). */
export const SETTLE_POLL_MS = 1_000;

export interface KillJobOptions {
  /** A job id as parsed by parseKillTarget: "1234", or "1234_7" for a task of an array. */
  id: string;
  requester: KillRequester;
  session: HostSession;
  isProcessAlive?: (ref: ProcessRef) => Promise<boolean>;
  graceSeconds?: number;
  settleTimeoutMs?: number;
  settlePollMs?: number;
  now?: () => Date;
}

/**
 * Kills what `options.id` names: a job, a task of an array ("1234_7"), or every live task of an
 * array ("1234"), decided in one transaction; running containers are then stopped together.
 */
export async function killJob(options: KillJobOptions): Promise<KillResult[]> {
  const { session } = options;
  const now = options.now ?? (() => session.clock.now());
  const plans = await session.transact((state, policy) =>
    planKills(state, options.id, options.requester, policy, now()),
  );
  return Promise.all(plans.map((plan) => carryOut(plan, options, now)));
}

async function carryOut(
  plan: KillPlan,
  options: KillJobOptions,
  now: () => Date,
): Promise<KillResult> {
  const { session } = options;
  if (plan.action === 'removed') {
    debug('removed %s job %s from the ledger', plan.job.state, plan.job.id);
    await removeOrphanedContainers(plan.job, options);
    return killResult(plan);
  }
  debug('stopping %s of job %s…', plan.container.name, plan.job.id);
  await session.engine.stop(plan.container.id, options.graceSeconds ?? KILL_GRACE_SECONDS);
  debug('stopped %s', plan.container.name);
  return killResult(plan, await settle(plan, options, now));
}

/**
 * After the container stopped: waits until the job's entry is gone, cleaning up itself when the
 * job's `rp run` is (or becomes) dead.
 */
async function settle(
  plan: Extract<KillPlan, { action: 'stop' }>,
  options: KillJobOptions,
  now: () => Date,
): Promise<{ cleanup: KillCleanup; exitCode?: number }> {
  const { session } = options;
  const { job, container } = plan;
  const isAlive = options.isProcessAlive ?? isProcessAliveOnHost;
  const deadline = Date.now() + (options.settleTimeoutMs ?? SETTLE_TIMEOUT_MS);
  for (;;) {
    const since = await session.store.changeToken();
    const current = (await session.store.read()).jobs.find((entry) => isJob(entry, job));
    const present = current !== undefined && isSameJob(current, job);
    if (!(await isAlive(job.supervisor))) {
      // Nobody else will remove the container: a reaper only forgets the entry.
      const exitCode = (await session.engine.inspectContainer(container.id))?.exitCode;
      debug('supervisor of job %s is gone; removing %s', job.id, container.name);
      await session.engine.remove(container.id);
      const removed =
        present &&
        (await session.transact((state, policy) =>
          removeStoppedJob(state, job, killedOutcome(now(), exitCode), policy, now()),
        ));
      const cleanup: KillCleanup = removed ? 'kill' : 'supervisor';
      return exitCode === undefined ? { cleanup } : { cleanup, exitCode };
    }
    if (!present) return { cleanup: 'supervisor' };
    const left = deadline - Date.now();
    if (left <= 0) {
      debug('job %s still in the ledger after its container stopped', job.id);
      return { cleanup: 'pending' };
    }
    await session.store.waitForChange({
      since,
      timeoutMs: Math.min(left, options.settlePollMs ?? SETTLE_POLL_MS),
    });
  }
}

/**
 * A granted job whose `rp run` died may have left a created, never started container (made
 * before the job could be marked running). The reaper would remove it within a minute; rp kill
 * does it now, so that what it reports is already true. A live `rp run` removes its own when it
 * finds the entry gone.
 */
async function removeOrphanedContainers(job: JobEntry, options: KillJobOptions): Promise<void> {
  if (job.state !== 'granted') return;
  const isAlive = options.isProcessAlive ?? isProcessAliveOnHost;
  if (await isAlive(job.supervisor)) return;
  const containers = await options.session.engine.listJobContainers(options.session.rpHome);
  for (const entry of containers) {
    if (entry.id !== job.id || entry.seq !== job.seq || !entry.container) continue;
    debug('removing %s left by job %s', entry.container.name, job.id);
    await options.session.engine.remove(entry.container.id);
  }
}
