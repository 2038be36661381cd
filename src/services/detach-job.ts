/**
 * `rp run --detach`: the job is validated, built and queued here, with a launch file saying what
 * it runs, and this process exits. The host supervisor (host-supervisor.ts) starts it when it is
 * granted; its output always goes to a log file, which the container writes itself.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NoCapacityError } from '../core/errors.js';
import { stderrFileOf } from '../core/launch-spec.js';
import type { JobEntry, JobKey } from '../core/ledger-state.js';
import { finish } from '../core/queue-transitions.js';
import { supplementaryGroups, type HostUser } from '../host/identity.js';
import { removeLaunchFile, withLaunchFile } from '../ledger/launch-files.js';
import { launchSpecOf } from './job-launch.js';
import { logFilePath } from './job-spec.js';
import type { HostSession } from './host-session.js';
import {
  prepareJob,
  submitJob,
  type JobRequestOptions,
  type PreparedJob,
} from './job-submission.js';
import { ensureHostSupervisor } from './supervisor-start.js';

export interface DetachOptions {
  outfileName?: string;
  noWait: boolean;
  /** Keep the job's stderr in `<log>.err`, apart from its stdout (`rp run --on` asks for it). */
  splitStderr?: boolean;
}

export interface DetachResult {
  job: JobEntry;
  logFile: string;
}

export async function detachJob(
  request: JobRequestOptions,
  options: DetachOptions,
): Promise<DetachResult> {
  return detachPrepared(await prepareJob(request), request.user, {
    ...options,
    session: request.session,
  });
}

/** The same for a job already prepared (its image built): the local Backend submits this way. */
export async function detachPrepared(
  prepared: PreparedJob,
  user: HostUser,
  options: DetachOptions & { session: HostSession },
): Promise<DetachResult> {
  const { session } = options;
  const name = options.outfileName ?? prepared.project.info.name;
  const submittedAt = session.clock.now();
  const logFileOf = (id: string): string =>
    logFilePath(prepared.project, name, submittedAt, id) as string;
  const logDir = dirname(logFileOf('0000'));
  await mkdir(logDir, { recursive: true });
  const spec = launchSpecOf(prepared, supplementaryGroups(), logDir);
  if (options.splitStderr) spec.splitStderr = true;
  const job = await withLaunchFile(session.store.paths, spec, (launch) =>
    submitJob(session, prepared, user, logFileOf, { launch }),
  );
  // The container writes it (and would create it); made here, `rp logs` finds it at once.
  await createLogFile(job.logFile as string);
  if (options.splitStderr) await createLogFile(stderrFileOf(job.logFile as string));

  if (options.noWait && job.state === 'queued') {
    await cancel(session, job);
    if (job.detached) await removeLaunchFile(session.store.paths, job.detached.launch);
    throw new NoCapacityError(`job ${job.id} cannot start now and --no-wait was given`, {
      hint: 'run without --no-wait to wait in the queue; "rp ps" shows what is in use',
    });
  }
  await ensureHostSupervisor(session);
  return { job, logFile: job.logFile as string };
}

async function createLogFile(path: string): Promise<void> {
  const handle = await open(path, 'a');
  await handle.close();
}

async function cancel(session: HostSession, job: JobKey): Promise<void> {
  const now = session.clock.now();
  await session.transact((state, policy) =>
    finish(state, job, { ending: 'cancelled', endedAt: now.toISOString() }, policy, now),
  );
}
