/**
 * The detached half of `rp run --detach`: the background supervisor takes over the job that the
 * foreground process queued. Only the job's own user may, only while that process (this one's
 * parent) still supervises it, and never once it runs.
 */
import { ConfigError } from '../core/errors.js';
import { isJob, type JobEntry, type JobKey } from '../core/ledger-state.js';
import type { HostUser } from '../host/identity.js';
import { currentProcessRef } from '../host/process.js';
import type { HostSession } from './host-session.js';
import { killedWhileQueued } from './run-job.js';

/**
 * Makes this process the supervisor of a queued job (the detached half of `rp run --detach`).
 * Only the job's own user may, and only while the `rp run --detach` that queued it (this
 * process's parent) still supervises it and no container was made: nobody can take over another
 * user's job, or a job that is already being run.
 */
export async function adoptJob(
  session: HostSession,
  key: JobKey,
  user: HostUser,
): Promise<JobEntry> {
  const supervisor = await currentProcessRef();
  const job = await session.transact((state) => {
    const current = state.jobs.find((entry) => isJob(entry, key));
    if (!current) return { state, result: undefined };
    throwIfNotAdoptable(current, user);
    const adopted: JobEntry = { ...current, supervisor };
    return {
      state: { ...state, jobs: state.jobs.map((entry) => (entry === current ? adopted : entry)) },
      result: adopted,
    };
  });
  if (!job) throw killedWhileQueued(key.id);
  return job;
}

/**
 * The same check as adoptJob's, on a look at the ledger without the lock: run before the image is
 * prepared, so a refused caller builds nothing. adoptJob's locked check stays the final word.
 */
export async function checkAdoptable(
  session: HostSession,
  key: JobKey,
  user: HostUser,
): Promise<void> {
  const current = (await session.store.read()).jobs.find((entry) => isJob(entry, key));
  if (!current) throw killedWhileQueued(key.id);
  throwIfNotAdoptable(current, user);
}

function throwIfNotAdoptable(job: JobEntry, user: HostUser): void {
  const refusal = adoptionRefusal(job, user, process.ppid);
  if (refusal !== undefined) {
    throw new ConfigError(`job ${job.id} cannot be supervised by this process: ${refusal}`, {
      hint: 'detached jobs are started with "rp run --detach"; --adopt is for rp itself',
    });
  }
}

function adoptionRefusal(job: JobEntry, user: HostUser, parentPid: number): string | undefined {
  if (job.uid !== user.uid) {
    return `it is ${job.user}'s (uid ${job.uid}), and you are ${user.name} (uid ${user.uid})`;
  }
  if (job.state === 'running' || job.container !== undefined) return 'it is already running';
  if (job.supervisor.pid !== parentPid) {
    return `it is supervised by process ${job.supervisor.pid}, which did not start this one`;
  }
  return undefined;
}
