/**
 * `rp run` and `rp enter` in the foreground: after job-submission.ts has queued the job, wait for
 * a grant, run the container with exactly the granted resources, stream its output and hand back
 * its exit code. Whatever happens, the container is removed and the job leaves the ledger.
 */
import createDebug from 'debug';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { ExitCode, exitCodeForSignal, NoCapacityError, RpError } from '../core/errors.js';
import {
  isJob,
  type Booking,
  type Grant,
  type JobEntry,
  type JobEnding,
  type JobKey,
  type JobOutcome,
} from '../core/ledger-state.js';
import { finish, markRunning, schedule, schedulerPolicyOf } from '../core/queue-transitions.js';
import { describeQueue } from '../core/scheduler.js';
import { hasQueuedGpuJob } from './gpu-observation.js';
import { endedByTimeLimit, killWaitOf } from '../core/time-limits.js';
import { supplementaryGroups } from '../host/identity.js';
import { EngineLostError, waitForExit } from './container-exit.js';
import type { HostSession } from './host-session.js';
import { containerLaunchOf, createJobContainerFor } from './job-launch.js';
import { logFilePath } from './job-spec.js';
import {
  prepareJob,
  submitJob,
  type JobRequestOptions,
  type PreparedJob,
} from './job-submission.js';
import { watchTimeLimit, type TimeLimitWatch } from './time-limit-watch.js';

const debug = createDebug('rp:run');

/** Seconds a stopped job gets to exit on its own before it is killed. */
export const STOP_GRACE_SECONDS = 10;
/**
 * How often a waiting job looks at the ledger when its bell does not ring (the bell is rung by
 * every transaction that grants, kills or otherwise changes its entry; this look catches a config
 * change that lets it start, and reaps the entries of dead processes when no other rp process on
 * the host has lately: see HostSession.reapIfDue).
 */
const LOOK_INTERVAL_MS = 5_000;

/** What the job shows while it waits and starts; src/ui implements it. */
export interface JobReporter {
  queued(job: JobEntry): void;
  waiting(status: { position: number; waitingFor: string }): void;
  started(job: JobEntry): void;
  logFile(path: string): void;
  /** The job was stopped at its time limit. */
  timedOut(job: JobEntry): void;
  /** The job (`--preemptible`) was stopped because `booking` began; absent when it is gone. */
  preempted(job: JobEntry, booking: Booking | undefined): void;
  finished(): void;
}

/** An interactive terminal for `rp enter`: raw input in, one output stream out. */
export interface JobTerminal {
  stdin: NodeJS.ReadableStream;
  size(): { rows: number; columns: number };
  /** Calls `listener` when the window size changes; returns the unsubscribe function. */
  onResize(listener: () => void): () => void;
}

export interface SuperviseOptions {
  session: HostSession;
  prepared: PreparedJob;
  job: JobEntry;
  noWait: boolean;
  reporter: JobReporter;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Also write the output to this file (foreground jobs with --outfile_name). */
  teeTo?: string;
  terminal?: JobTerminal;
  /** Aborted with the signal's name ('SIGINT', 'SIGTERM', 'SIGHUP') to stop the job. */
  signal: AbortSignal;
  /** Pauses between questions to an engine that stopped answering; default ENGINE_RETRY_DELAYS_MS. */
  engineRetryDelaysMs?: readonly number[];
}

/** The job left the ledger without running to its end: killed, cancelled, refused. */
export class JobEndedError extends RpError {}

/** `rp run` in the foreground: prepare, queue, supervise. */
export async function runJob(
  request: JobRequestOptions,
  run: Omit<SuperviseOptions, 'session' | 'prepared' | 'job' | 'teeTo'> & { outfileName?: string },
): Promise<number> {
  const prepared = await prepareJob(request);
  throwIfAborted(run.signal);
  const teeTo = logFilePath(prepared.project, run.outfileName, request.session.clock.now());
  const job = await submitJob(request.session, prepared, request.user, teeTo);
  return superviseJob({ ...run, session: request.session, prepared, job, teeTo });
}

/**
 * Waits for the grant, runs the container with exactly the granted resources, streams its output
 * and returns its exit code. Whatever happens, the container is removed and the job leaves the
 * ledger with a history line, except when the engine is lost (EngineLostError): then both stay,
 * because the container may still hold its GPUs.
 *
 * A container that the engine says is gone ends the job (ContainerGoneError, released as failed).
 *
 * A stop signal (Ctrl+C, SIGTERM, SIGHUP) is honoured at every moment: while waiting, between the
 * grant and the container's creation, during the running transition and the attach (the container
 * is removed before it ever starts), and once it runs (it is stopped, then removed).
 */
export async function superviseJob(options: SuperviseOptions): Promise<number> {
  const { session, signal, prepared, job } = options;
  const now = (): Date => session.clock.now();
  options.reporter.queued(job);

  let ending: JobEnding = 'failed';
  let exitCode: number | undefined;
  let containerId: string | undefined;
  let engineLost = false;
  try {
    const grant = await waitForGrant(options, job, now);
    throwIfAborted(signal);
    // This process is the user's own `rp run`: its groups are theirs.
    const launch = containerLaunchOf(prepared, supplementaryGroups());
    const startAt = now();
    const container = await createJobContainerFor(session, job, grant, launch, {
      interactive: options.terminal !== undefined,
      startAt,
    });
    containerId = container.id;
    throwIfAborted(signal);
    const running = await session.transact((state) => markRunning(state, job, container, startAt));
    if (!running) throw killedWhileQueued(job.id);
    throwIfAborted(signal);
    options.reporter.started(running);

    const output = await openOutput(options);
    const { terminal } = options;
    const stopOnSignal = (): void => {
      debug('stopping %s on %s', container.name, String(signal.reason));
      void session.engine.stop(container.id, STOP_GRACE_SECONDS).catch(() => undefined);
    };
    const resize = (): void => {
      if (terminal) void session.engine.resize(container.id, terminal.size());
    };
    let stopResizing: (() => void) | undefined;
    let limit: TimeLimitWatch | undefined;
    try {
      const attached = await session.engine.attach(container.id, {
        stdout: output.stdout,
        stderr: output.stderr,
        ...(terminal ? { tty: { stdin: terminal.stdin } } : {}),
      });
      // No await between this check and the listener: a signal is either seen here, before the
      // container starts, or stops the started container.
      throwIfAborted(signal);
      signal.addEventListener('abort', stopOnSignal, { once: true });
      stopResizing = terminal?.onResize(resize);
      await session.engine.start(container.id);
      limit = watchTimeLimit({
        engine: session.engine,
        containerId: container.id,
        job: running,
        killWaitSeconds: killWaitOf((await session.policy()).limits),
        clock: session.clock,
        warn: (line) => options.stderr.write(`rp: warning: ${line}\n`),
      });
      resize();
      exitCode = await waitForExit(session.engine, container.id, options.engineRetryDelaysMs);
      await attached.ended;
    } finally {
      limit?.cancel();
      signal.removeEventListener('abort', stopOnSignal);
      stopResizing?.();
      await output.close();
    }
    if (signal.aborted) {
      ending = 'killed';
      return exitCodeForSignal(signal.reason);
    }
    if (limit?.stopped === true || endedByTimeLimit(running, now())) {
      ending = 'timeout';
      options.reporter.timedOut(running);
      return ExitCode.timeout;
    }
    // Stopped for a booking by whichever rp process passed: say so, or the exit code (143, as
    // any SIGTERM) is all the user sees. The history says 'preempted' from the same entry.
    const state = await session.store.read().catch(() => undefined);
    const entry = state?.jobs.find((candidate) => isJob(candidate, running));
    if (entry?.preempted !== undefined) {
      const booking = state?.bookings?.find((b) => b.id === entry.preempted?.booking);
      options.reporter.preempted(entry, booking);
      ending = 'exited';
      return ExitCode.preempted;
    }
    ending = 'exited';
    return exitCode;
  } catch (error) {
    if (error instanceof EngineLostError) engineLost = true;
    if (error instanceof JobEndedError || error instanceof NoCapacityError) ending = 'cancelled';
    throw error;
  } finally {
    options.reporter.finished();
    if (!engineLost) {
      await endJob(options, containerId, {
        ending,
        endedAt: now().toISOString(),
        ...(exitCode === undefined ? {} : { exitCode }),
      });
    }
  }
}

/**
 * Hands the job's resources on and removes its container. A container that has exited holds
 * nothing: its slot is handed on first, then it is removed, so the next job does not wait for the
 * removal; one that may still run is removed first. Each step runs even when the other fails
 * (what is left is found by the next reaper), and a failure is reported, not thrown, so that the
 * job's own exit code still reaches the user.
 */
async function endJob(
  options: SuperviseOptions,
  containerId: string | undefined,
  outcome: JobOutcome,
): Promise<void> {
  const { session, job } = options;
  const warn = (what: string, error: unknown): void => {
    options.stderr.write(`rp: warning: could not ${what}: ${(error as Error).message}\n`);
  };
  const release = (): Promise<unknown> =>
    session
      .transact((state, policy) => finish(state, job, outcome, policy, session.clock.now()))
      .catch((error: unknown) => warn(`release the resources of job ${job.id}`, error));
  const remove = async (): Promise<void> => {
    if (containerId === undefined) return;
    await session.engine
      .remove(containerId)
      .catch((error: unknown) => warn(`remove the container of job ${job.id}`, error));
  };
  if (outcome.exitCode !== undefined) {
    await release();
    await remove();
  } else {
    await remove();
    await release();
  }
}

/**
 * Waits until the scheduler grants the job; throws when it is killed, cancelled or must not wait.
 * It sleeps on the job's bell (src/ledger/job-bells.ts), so other jobs' grants and ends do not
 * wake it; only a change of its own entry, or its periodic look, does.
 */
async function waitForGrant(
  options: SuperviseOptions,
  key: JobKey,
  now: () => Date,
): Promise<Grant> {
  const { session, signal } = options;
  const { bells } = session.store;
  await bells.hang(key);
  try {
    let lastStatus = '';
    for (;;) {
      throwIfAborted(signal);
      const since = await bells.token(key);
      // Most looks give the scheduler nothing to do: look without the lock, and take it only
      // when there is something to grant.
      let state = await session.store.read();
      // A GPU freed outside rp changes nothing in the ledger: only a new look notices it.
      await session.lookAtGpus(hasQueuedGpuJob(state));
      const policy = await session.policy();
      if (schedule(state, policy, now()).state !== state) {
        state = await session.transact((current, latest) => {
          const scheduled = schedule(current, latest, now());
          return { ...scheduled, result: scheduled.state };
        });
      }
      const job = state.jobs.find((entry) => isJob(entry, key));
      if (!job) throw killedWhileQueued(key.id);
      if (job.state !== 'queued' && job.grant) return job.grant;
      if (options.noWait) {
        throw new NoCapacityError(`job ${key.id} cannot start now and --no-wait was given`, {
          hint: 'run without --no-wait to wait in the queue; "rp ps" shows what is in use',
        });
      }
      const rules = schedulerPolicyOf(state, policy);
      const status = describeQueue(state, policy.capacity, policy.limits, now(), rules).find(
        (entry) => entry.jobId === key.id,
      );
      if (status) {
        const text = `${status.position}:${status.waitingFor}`;
        if (text !== lastStatus) options.reporter.waiting(status);
        lastStatus = text;
      }
      const report = await session.reapIfDue();
      if (report !== undefined && report.reaped.length > 0) continue;
      await bells.wait(key, { since, timeoutMs: LOOK_INTERVAL_MS, signal });
    }
  } finally {
    await bells.remove(key);
  }
}

export function killedWhileQueued(id: string): JobEndedError {
  return new JobEndedError(`job ${id} was killed before it started`, exitCodeForSignal('SIGTERM'));
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new JobEndedError(
      `stopped by ${String(signal.reason)} before the job started`,
      exitCodeForSignal(signal.reason),
    );
  }
}

/** Where the container's output goes: our stdout/stderr, and the log file when asked for. */
async function openOutput(options: SuperviseOptions): Promise<{
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  close: () => Promise<void>;
}> {
  const path = options.teeTo;
  if (path === undefined) {
    return { stdout: options.stdout, stderr: options.stderr, close: async () => undefined };
  }
  await mkdir(dirname(path), { recursive: true });
  const file = createWriteStream(path, { flags: 'a' });
  options.reporter.logFile(path);
  return {
    stdout: tee(options.stdout, file),
    stderr: tee(options.stderr, file),
    close: () => closeFile(file),
  };
}

function tee(terminal: NodeJS.WritableStream, file: WriteStream): NodeJS.WritableStream {
  const through = new PassThrough();
  through.on('data', (chunk: Buffer) => {
    terminal.write(chunk);
    file.write(chunk);
  });
  return through;
}

function closeFile(file: WriteStream): Promise<void> {
  return new Promise((done) => file.end(done));
}
