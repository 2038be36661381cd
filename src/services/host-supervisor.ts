/**
 * The host supervisor: the one process that runs the host's detached jobs, so that a queued
 * detached job is a ledger entry and a launch file, not a process. `rp run --detach` (and any rp
 * command that finds detached jobs and no live supervisor; see ensureHostSupervisor) starts it
 * as a hidden `rp supervise` in a session of its own; it is elected in a ledger transaction, so
 * only one runs, and it exits once no detached job is left.
 *
 * It starts each granted detached job's container from the job's launch file (the container
 * writes its own output to the job's log file, as the job's user), follows it to its end, and
 * records the exit code and releases the resources, as a foreground `rp run` does for its job.
 * Killed (even with SIGKILL), it loses nothing: the containers run on with their grants, and the
 * next supervisor follows the running ones, records the exit codes of those that ended meanwhile,
 * starts a container made but never started, and removes one made but never recorded.
 */
import createDebug from 'debug';
import {
  claimSupervision,
  detachedJobs,
  dutyOf,
  retireSupervision,
  sameProcess,
  SUPERVISOR_BELL,
} from '../core/host-supervision.js';
import { ConfigError } from '../core/errors.js';
import { loggedCommand, taskCommand } from '../core/launch-spec.js';
import type {
  JobEntry,
  JobKey,
  JobOutcome,
  LedgerState,
  ProcessRef,
} from '../core/ledger-state.js';
import { finish, markRunning, schedule } from '../core/queue-transitions.js';
import { endedByTimeLimit, killWaitOf } from '../core/time-limits.js';
import { currentProcessRef, isProcessAlive } from '../host/process.js';
import {
  readLaunchFile,
  removeLaunchFile,
  removeOrphanLaunchFiles,
} from '../ledger/launch-files.js';
import { ContainerGoneError, EngineLostError, waitForExit } from './container-exit.js';
import type { HostSession } from './host-session.js';
import { createJobContainerFor } from './job-launch.js';
import { watchTimeLimit, type TimeLimitWatch } from './time-limit-watch.js';
import { hasQueuedGpuJob } from './gpu-observation.js';

const debug = createDebug('rp:supervisor');

/** How often the supervisor looks at the ledger when it does not change (config changes, reaping). */
const LOOK_INTERVAL_MS = 5_000;

export interface SupervisorOptions {
  session: HostSession;
  /** Aborted (SIGTERM, SIGINT) to stop supervising; the jobs run on for the next supervisor. */
  signal: AbortSignal;
  /** Where the supervisor reports what went wrong with a job (its own log file). */
  report: (line: string) => void;
  lookIntervalMs?: number;
}

/** Why supervise() returned. */
export type SupervisorEnd = 'not-elected' | 'no-jobs-left' | 'replaced' | 'stopped';

export async function supervise(options: SupervisorOptions): Promise<SupervisorEnd> {
  const { session } = options;
  const me = await currentProcessRef();
  if (!(await elect(session, me))) return 'not-elected';
  debug('elected as pid %d', me.pid);
  await removeUnrecordedContainers(options);
  await removeOrphanLaunchFiles(
    session.store.paths,
    launchesInUse(await session.store.read()),
    session.clock.now(),
  );

  const { bells } = session.store;
  await bells.hang(SUPERVISOR_BELL);
  return superviseElected(options, me);
}

/** The supervisor's loop, once elected: until no detached job is left, or it is replaced. */
async function superviseElected(
  options: SupervisorOptions,
  me: ProcessRef,
): Promise<SupervisorEnd> {
  const { session, signal } = options;
  const { bells } = session.store;
  const busy = new Map<string, Promise<void>>();
  for (;;) {
    if (signal.aborted) return 'stopped';
    // Rung only when a detached job is queued, granted, changed or ends (see SUPERVISOR_BELL).
    const since = await bells.token(SUPERVISOR_BELL);
    let state = await session.store.read();
    if (!sameProcess(state.hostSupervisor, me)) return 'replaced';
    // A GPU freed outside rp changes nothing in the ledger: only a new look notices it.
    await session.lookAtGpus(hasQueuedGpuJob(state));
    const policy = await session.policy();
    if (schedule(state, policy, session.clock.now()).state !== state) {
      state = await session.transact((current, latest) => {
        const scheduled = schedule(current, latest, session.clock.now());
        return { ...scheduled, result: scheduled.state };
      });
    }
    const jobs = detachedJobs(state);
    for (const job of jobs) {
      const key = keyOf(job);
      const duty = dutyOf(job);
      if (busy.has(key) || duty === 'wait') continue;
      const work = duty === 'start' ? startJob(options, job, me) : followJob(options, job);
      const reported = work.catch((error: unknown) => {
        options.report(`job ${job.id}: ${(error as Error).message}`);
      });
      busy.set(
        key,
        reported.finally(() => busy.delete(key)),
      );
    }
    if (jobs.length === 0 && busy.size === 0) {
      // The bell comes down before retiring: a successor elected right after hangs its own (the
      // same file), which must not be taken down by this one on its way out. A supervisor that
      // dies leaves it hanging; ringing a bell nobody waits on costs an append.
      await bells.remove(SUPERVISOR_BELL);
      if (await session.transact((current) => retireSupervision(current, me))) {
        return 'no-jobs-left';
      }
      // A job came meanwhile: this supervisor goes on, and reads the ledger again at once.
      await bells.hang(SUPERVISOR_BELL);
      continue;
    }
    await session.reapIfDue();
    await bells.wait(SUPERVISOR_BELL, {
      since,
      timeoutMs: options.lookIntervalMs ?? LOOK_INTERVAL_MS,
      signal,
    });
  }
}

/** Becomes the host supervisor unless a live one is recorded. */
async function elect(session: HostSession, me: ProcessRef): Promise<boolean> {
  for (;;) {
    const recorded = (await session.store.read()).hostSupervisor;
    if (recorded && !sameProcess(recorded, me) && (await isProcessAlive(recorded))) return false;
    const judgedDead = sameProcess(recorded, me) ? undefined : recorded;
    const elected = await session.transact((state) => claimSupervision(state, me, judgedDead));
    if (elected) return true;
    // Someone else was recorded meanwhile: judge that one.
  }
}

/**
 * Containers made for a granted detached job by a supervisor that died before it could record
 * them: never started (the job is marked running before its container starts), so removed here;
 * this supervisor makes the job a new one.
 */
async function removeUnrecordedContainers(options: SupervisorOptions): Promise<void> {
  const { session } = options;
  const containers = await session.engine.listQueueContainers(session.rpHome);
  if (containers.length === 0) return;
  const state = await session.store.read();
  for (const container of containers) {
    const owner = state.jobs.find(
      (job) => job.id === container.job.id && job.seq === container.job.seq,
    );
    if (!owner?.detached || owner.container !== undefined) continue;
    debug('removing %s, made for job %s but never recorded', container.name, owner.id);
    await session.engine.remove(container.id).catch((error: unknown) => {
      options.report(`could not remove ${container.name}: ${(error as Error).message}`);
    });
  }
}

/** Makes the granted job's container, marks the job running, starts it, follows it to its end. */
async function startJob(options: SupervisorOptions, job: JobEntry, me: ProcessRef): Promise<void> {
  const { session } = options;
  const grant = job.grant;
  if (!job.detached || !grant) return;
  let containerId: string | undefined;
  try {
    const launch = await readLaunchFile(session.store.paths, job.detached.launch);
    const task = taskCommand(launch, job);
    const command = loggedCommand({ ...launch, command: task.command }, job.logFile ?? '');
    if (!command) {
      throw new ConfigError(`its log file ${job.logFile} is not in ${launch.logDir.host}`);
    }
    const env = { ...launch.env, ...task.env };
    const startAt = session.clock.now();
    const container = await createJobContainerFor(
      session,
      job,
      grant,
      { ...launch, env },
      { interactive: false, command, startAt },
    );
    containerId = container.id;
    const running = await session.transact((state) =>
      markRunning(state, job, container, startAt, me),
    );
    if (!running) {
      // Killed while its container was being made.
      await session.engine.remove(container.id);
      return;
    }
    await session.engine.start(container.id);
    await followJob(options, running);
  } catch (error) {
    options.report(`job ${job.id} could not start: ${(error as Error).message}`);
    await endJob(options, job, containerId, { ending: 'failed', endedAt: nowIso(session) });
  }
}

/** Waits for the job's container to end (starting it if it never was), then records the end. */
async function followJob(options: SupervisorOptions, job: JobEntry): Promise<void> {
  const { session } = options;
  const container = job.container;
  if (!container) return;
  let exitCode: number | undefined;
  let limit: TimeLimitWatch | undefined;
  try {
    const state = await session.engine.inspectContainer(container.id);
    if (state && !state.running && state.startedAt === undefined) {
      // Marked running by a supervisor that died before it could start it.
      await session.engine.start(container.id);
    }
    limit = watchTimeLimit({
      engine: session.engine,
      containerId: container.id,
      job,
      killWaitSeconds: killWaitOf((await session.policy()).limits),
      clock: session.clock,
      warn: options.report,
    });
    exitCode = await waitForExit(session.engine, container.id);
  } catch (error) {
    // The container may still run: keep the entry and its grant; the next look follows it again.
    if (error instanceof EngineLostError) {
      limit?.cancel();
      options.report(`job ${job.id}: ${error.message}`);
      return;
    }
    const gone = error instanceof ContainerGoneError;
    options.report(
      `job ${job.id} ${gone ? 'lost its container' : 'failed'}: ${(error as Error).message}`,
    );
  }
  limit?.cancel();
  const endedAt = session.clock.now();
  const timedOut = limit?.stopped === true || endedByTimeLimit(job, endedAt);
  const outcome: JobOutcome =
    exitCode === undefined
      ? { ending: 'failed', endedAt: endedAt.toISOString() }
      : { ending: timedOut ? 'timeout' : 'exited', endedAt: endedAt.toISOString(), exitCode };
  await endJob(options, job, container.id, outcome);
}

/** Releases the job's resources, removes its container and, once unused, its launch file. */
async function endJob(
  options: SupervisorOptions,
  job: JobEntry,
  containerId: string | undefined,
  outcome: JobOutcome,
): Promise<void> {
  const { session } = options;
  const warn = (what: string, error: unknown): void => {
    options.report(`could not ${what} of job ${job.id}: ${(error as Error).message}`);
  };
  const state = await session
    .transact((current, policy) => {
      const finished = finish(current, job, outcome, policy, session.clock.now());
      return { ...finished, result: finished.state };
    })
    .catch((error: unknown) => warn('release the resources', error));
  if (containerId !== undefined) {
    await session.engine
      .remove(containerId)
      .catch((error: unknown) => warn('remove the container', error));
  }
  const launch = job.detached?.launch;
  if (state && launch && !state.jobs.some((entry) => entry.detached?.launch === launch)) {
    await removeLaunchFile(session.store.paths, launch);
  }
}

function launchesInUse(state: LedgerState): Set<string> {
  return new Set(detachedJobs(state).map((job) => job.detached?.launch ?? ''));
}

function keyOf(job: JobKey): string {
  return `${job.id}:${job.seq}`;
}

function nowIso(session: HostSession): string {
  return session.clock.now().toISOString();
}
