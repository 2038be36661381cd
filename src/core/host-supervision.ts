/**
 * The host supervisor's election and retirement as pure ledger decisions. Detached jobs have no
 * process of their own: one process per host (src/services/host-supervisor.ts) starts them when
 * they are granted and records their ends. It is elected in a ledger transaction, so two
 * candidates started at once never both win, and it retires in one, only when no detached job is
 * left, so a job queued while it retires always finds either a supervisor or none (and then starts
 * one).
 */
import type { JobEntry, JobKey, LedgerState, ProcessRef } from './ledger-state.js';
import type { Transition } from './queue-transitions.js';

export function sameProcess(a: ProcessRef | undefined, b: ProcessRef | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.pid === b.pid && a.startTime === b.startTime && a.bootId === b.bootId;
}

export function detachedJobs(state: LedgerState): JobEntry[] {
  return state.jobs.filter((job) => job.detached !== undefined);
}

/**
 * The supervisor's bell (see src/ledger/job-bells.ts): rung by every transaction that queues,
 * grants, changes or removes a detached job, and by no other, so the supervisor sleeps through
 * the foreground jobs' comings and goings.
 */
export const SUPERVISOR_BELL: JobKey = { id: 'supervisor', seq: 0 };

/** Whether a transaction from `before` to `after` queued, changed or removed a detached job. */
export function detachedJobsChanged(before: LedgerState, after: LedgerState): boolean {
  const earlier = detachedJobs(before);
  const later = detachedJobs(after);
  // Decisions keep the objects of the entries they leave alone.
  return earlier.length !== later.length || earlier.some((job, index) => job !== later[index]);
}

/**
 * Makes `me` the host supervisor when the recorded one is still `judgedDead` (the process the
 * caller found dead without the lock, or undefined for none): a recorded supervisor that changed
 * since is judged again. True when `me` supervises after this.
 */
export function claimSupervision(
  state: LedgerState,
  me: ProcessRef,
  judgedDead: ProcessRef | undefined,
): Transition<boolean> {
  if (sameProcess(state.hostSupervisor, me)) return { state, result: true };
  if (!sameProcess(state.hostSupervisor, judgedDead)) return { state, result: false };
  return { state: { ...state, hostSupervisor: { ...me } }, result: true };
}

/**
 * Retires `me` when no detached job is left. True when `me` may exit: retired now, or no longer the
 * supervisor anyway (another process took over when it judged this one dead).
 */
export function retireSupervision(state: LedgerState, me: ProcessRef): Transition<boolean> {
  if (!sameProcess(state.hostSupervisor, me)) return { state, result: true };
  if (detachedJobs(state).length > 0) return { state, result: false };
  const next = { ...state };
  delete next.hostSupervisor;
  return { state: next, result: true };
}

/** What the supervisor must do for a detached job it is not yet busy with. */
export type DetachedDuty = 'start' | 'follow' | 'wait';

/**
 * A granted job without a container is started; one with a container is followed to its end
 * (whether this supervisor made it, or a dead one did); a queued one waits for its grant.
 */
export function dutyOf(job: JobEntry): DetachedDuty {
  if (job.state === 'queued') return 'wait';
  return job.container === undefined ? 'start' : 'follow';
}
