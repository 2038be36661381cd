/**
 * `rp run` and `rp enter`: validate, build, queue, wait for a grant, run the container with
 * exactly the granted resources, stream its output and hand back its exit code. Whatever happens,
 * the container is removed and the job leaves the ledger.
 */
import createDebug from 'debug';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { splitCommandLine } from '../core/command-line.js';
import { homeDirectory } from '../core/dockerfile.js';
import { NoCapacityError, RpError } from '../core/errors.js';
import type { Grant, JobEntry, JobEnding, JobKind, ResourceRequest } from '../core/ledger-state.js';
import { enqueue, finish, markRunning, schedule } from '../core/queue-transitions.js';
import { describeQueue } from '../core/scheduler.js';
import type { HostUser } from '../host/identity.js';
import { systemRandomInt } from '../host/ids.js';
import { currentProcessRef } from '../host/process.js';
import { buildProjectImage, type BuildReporter, type BuildResult } from './build-image.js';
import type { HostSession } from './host-session.js';
import {
  checkMountPaths,
  jobMounts,
  logFilePath,
  projectMountPoint,
  resourceRequest,
  scriptCommand,
  shmSize,
} from './job-spec.js';
import { loadProject, type Project } from './project.js';

const debug = createDebug('rp:run');

/** Seconds a stopped job gets to exit on its own before it is killed. */
export const STOP_GRACE_SECONDS = 10;
/** How often a waiting job looks for dead entries even when nothing changes. */
const REAP_INTERVAL_MS = 5_000;

/** What the job asks for, from flags falling back to .rp/info.json. */
export interface JobRequestOptions {
  cwd: string;
  user: HostUser;
  kind: JobKind;
  /** `rp run`: the script and its arguments. */
  script?: string;
  cpu?: number;
  gpus?: number;
  memoryGb?: number;
  shm?: string;
  session: HostSession;
  build: BuildReporter;
}

/** A validated job with its image built, ready to be queued. */
export interface PreparedJob {
  project: Project;
  kind: JobKind;
  /** What listings show: the script line, or "bash" for `rp enter`. */
  commandLine: string;
  /** The argument vector run in the container. */
  command: string[];
  request: ResourceRequest;
  shmBytes: number;
  image: BuildResult;
}

/** What the job shows while it waits and starts; src/ui implements it. */
export interface JobReporter {
  queued(job: JobEntry): void;
  waiting(status: { position: number; waitingFor: string }): void;
  started(job: JobEntry): void;
  logFile(path: string): void;
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
}

/** The job left the ledger without running to its end: killed, cancelled, refused. */
export class JobEndedError extends RpError {}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export function exitCodeForSignal(signal: unknown): number {
  return 128 + (SIGNAL_NUMBERS[String(signal)] ?? 15);
}

/**
 * Everything that can be checked before the job is queued, then the (cached) image build. Any
 * problem is an error here, so nothing is ever left in the queue by a bad request.
 */
export async function prepareJob(options: JobRequestOptions): Promise<PreparedJob> {
  const project = await loadProject(options.cwd);
  let command: string[];
  let commandLine: string;
  if (options.kind === 'run') {
    commandLine = options.script ?? '';
    command = await scriptCommand(project, options.cwd, splitCommandLine(commandLine));
  } else {
    commandLine = 'bash';
    command = ['bash'];
  }
  await checkMountPaths(project.paths);
  const request = resourceRequest(project, options);
  const shmBytes = shmSize(project, options.shm);
  const image = await buildProjectImage({
    project,
    user: options.user,
    engine: options.session.engine,
    reporter: options.build,
  });
  return { project, kind: options.kind, commandLine, command, request, shmBytes, image };
}

/** Puts the job in the host's queue (the scheduler may grant it at once). */
export async function submitJob(
  session: HostSession,
  prepared: PreparedJob,
  user: HostUser,
  logFile?: string,
): Promise<JobEntry> {
  const supervisor = await currentProcessRef();
  const now = session.clock.now();
  return session.store.transact((state) =>
    enqueue(
      state,
      {
        user: user.name,
        uid: user.uid,
        project: { path: prepared.project.root, name: prepared.project.info.name },
        kind: prepared.kind,
        command: prepared.commandLine,
        request: prepared.request,
        submittedAt: now.toISOString(),
        supervisor,
        ...(logFile === undefined ? {} : { logFile }),
      },
      session.policy,
      now,
      systemRandomInt,
    ),
  );
}

/** Makes this process the supervisor of a queued job (the detached half of `rp run --detach`). */
export async function adoptJob(session: HostSession, jobId: string): Promise<JobEntry> {
  const supervisor = await currentProcessRef();
  const job = await session.store.transact((state) => {
    const current = state.jobs.find((entry) => entry.id === jobId);
    if (!current) return { state, result: undefined };
    const adopted: JobEntry = { ...current, supervisor };
    return {
      state: { ...state, jobs: state.jobs.map((entry) => (entry.id === jobId ? adopted : entry)) },
      result: adopted,
    };
  });
  if (!job) throw killedWhileQueued(jobId);
  return job;
}

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
 * ledger with a history line.
 */
export async function superviseJob(options: SuperviseOptions): Promise<number> {
  const { session, signal, prepared, job } = options;
  const now = (): Date => session.clock.now();
  const { project, image } = prepared;
  options.reporter.queued(job);

  let ending: JobEnding = 'failed';
  let exitCode: number | undefined;
  let containerId: string | undefined;
  try {
    const grant = await waitForGrant(options, job.id, now);
    const container = await session.engine.createJobContainer({
      rpHome: session.rpHome,
      job,
      grant,
      image: image.reference,
      command: prepared.command,
      user: { uid: image.user.uid, gid: image.user.gid },
      workingDir: projectMountPoint(project, image.user),
      mounts: jobMounts(project, image.user),
      shmBytes: prepared.shmBytes,
      interactive: options.terminal !== undefined,
      // HOME matches where the project and paths.json entries are mounted, for root too.
      env: { RP_JOB_ID: job.id, HOME: homeDirectory(image.user) },
    });
    containerId = container.id;
    const running = await session.store.transact((state) =>
      markRunning(state, job.id, container, now()),
    );
    if (!running) throw killedWhileQueued(job.id);
    options.reporter.started(running);

    const output = await openOutput(options);
    const { terminal } = options;
    const attached = await session.engine.attach(container.id, {
      stdout: output.stdout,
      stderr: output.stderr,
      ...(terminal ? { tty: { stdin: terminal.stdin } } : {}),
    });
    const stopOnSignal = (): void => {
      debug('stopping %s on %s', container.name, String(signal.reason));
      void session.engine.stop(container.id, STOP_GRACE_SECONDS).catch(() => undefined);
    };
    signal.addEventListener('abort', stopOnSignal, { once: true });
    const resize = (): void => {
      if (terminal) void session.engine.resize(container.id, terminal.size());
    };
    const stopResizing = terminal?.onResize(resize);
    try {
      await session.engine.start(container.id);
      resize();
      exitCode = await session.engine.wait(container.id);
      await attached.ended;
    } finally {
      signal.removeEventListener('abort', stopOnSignal);
      stopResizing?.();
      await output.close();
    }
    if (signal.aborted) {
      ending = 'killed';
      return exitCodeForSignal(signal.reason);
    }
    ending = 'exited';
    return exitCode;
  } catch (error) {
    if (error instanceof JobEndedError || error instanceof NoCapacityError) ending = 'cancelled';
    throw error;
  } finally {
    options.reporter.finished();
    const outcome = {
      ending,
      endedAt: now().toISOString(),
      ...(exitCode === undefined ? {} : { exitCode }),
    };
    const release = (): Promise<boolean> =>
      session.store.transact((state) => finish(state, job.id, outcome, session.policy, now()));
    const removeContainer = async (): Promise<void> => {
      if (!containerId) return;
      await session.engine
        .remove(containerId)
        .catch((error: unknown) => debug('remove failed: %o', error));
    };
    // A container that has exited holds nothing: hand its slot on first, then remove it, so the
    // next job does not wait for the removal. One that may still run is removed first.
    if (exitCode !== undefined) {
      await release();
      await removeContainer();
    } else {
      await removeContainer();
      await release();
    }
  }
}

/** Waits until the scheduler grants the job; throws when it is killed, cancelled or must not wait. */
async function waitForGrant(
  options: SuperviseOptions,
  id: string,
  now: () => Date,
): Promise<Grant> {
  const { session, signal } = options;
  let lastReap = 0;
  let lastStatus = '';
  for (;;) {
    throwIfAborted(signal);
    const since = await session.store.changeToken();
    // Most wake-ups give the scheduler nothing to do: look without the lock, and take it only
    // when there is something to grant, so a long queue does not line up on the lock each time.
    let state = await session.store.read();
    if (schedule(state, session.policy, now()).state !== state) {
      state = await session.store.transact((current) => {
        const scheduled = schedule(current, session.policy, now());
        return { ...scheduled, result: scheduled.state };
      });
    }
    const job = state.jobs.find((entry) => entry.id === id);
    if (!job) throw killedWhileQueued(id);
    if (job.state !== 'queued' && job.grant) return job.grant;
    if (options.noWait) {
      throw new NoCapacityError(`job ${id} cannot start now and --no-wait was given`, {
        hint: 'run without --no-wait to wait in the queue; "rp ps" shows what is in use',
      });
    }
    const status = describeQueue(state, session.policy.capacity, session.policy.limits, now()).find(
      (entry) => entry.jobId === id,
    );
    if (status) {
      const text = `${status.position}:${status.waitingFor}`;
      if (text !== lastStatus) options.reporter.waiting(status);
      lastStatus = text;
    }
    if (Date.now() - lastReap > REAP_INTERVAL_MS) {
      lastReap = Date.now();
      const report = await session.reap();
      if (report.reaped.length > 0) continue;
    }
    await session.store.waitForChange({ since, timeoutMs: REAP_INTERVAL_MS, signal });
  }
}

function killedWhileQueued(id: string): JobEndedError {
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
