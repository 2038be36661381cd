/**
 * The first half of every local job: validate the request, build (or find) the image, and queue
 * it. `rp run` in the foreground and `rp enter` go on to supervise it (run-job.ts); a detached job,
 * an array and a backend's job stop here, so they load none of the foreground's machinery.
 */
import { splitCommandLine } from '../core/command-line.js';
import {
  isJob,
  type JobEntry,
  type JobKind,
  type ProcessRef,
  type ResourceRequest,
  type TimeLimitSpec,
} from '../core/ledger-state.js';
import { enqueue, type NewJob, type Transition } from '../core/queue-transitions.js';
import type { HostUser } from '../host/identity.js';
import { systemRandomInt } from '../host/ids.js';
import { currentProcessRef } from '../host/process.js';
import { pinImage } from '../ledger/image-pins.js';
import {
  buildProjectImage,
  imagesInUse,
  type BuildReporter,
  type BuildResult,
} from './build-image.js';
import type { HostSession } from './host-session.js';
import {
  checkMountPaths,
  jobTimeLimit,
  resourceRequest,
  scriptCommand,
  shmSize,
} from './job-spec.js';
import { loadProject, type Project } from './project.js';

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
  /** `--time`: a length of time, "0" or "unlimited". */
  time?: string;
  /** `--signal NAME[@SECONDS]`: sent that long before the time limit. */
  signal?: string;
  /** `--preemptible`: may run on booked resources, stopped when the booking starts. */
  preemptible?: boolean;
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
  /** Absent: the job may run as long as it likes. */
  timeLimit?: TimeLimitSpec;
  preemptible?: boolean;
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
  await checkMountPaths(project);
  const request = resourceRequest(project, options);
  const shmBytes = shmSize(project, options.shm);
  const { limits } = await options.session.policy();
  const timeLimit = jobTimeLimit(project, options, limits, options.user.name);
  const image = await buildProjectImage({
    project,
    user: options.user,
    engine: options.session.engine,
    reporter: options.build,
    imagesInUse: async () =>
      imagesInUse(await options.session.store.read(), options.session.store.paths),
    pin: (reference) => pinImage(options.session.store.paths, reference),
  });
  return {
    project,
    kind: options.kind,
    commandLine,
    command,
    request,
    shmBytes,
    image,
    ...(timeLimit === undefined ? {} : { timeLimit }),
    ...(options.preemptible === true ? { preemptible: true } : {}),
  };
}

/** Puts the job in the host's queue (the scheduler may grant it at once). */
export async function submitJob(
  session: HostSession,
  prepared: PreparedJob,
  user: HostUser,
  logFile?: string | ((id: string) => string),
  detached?: JobEntry['detached'],
): Promise<JobEntry> {
  const job = newJobOf(prepared, user, await currentProcessRef(), session.clock.now());
  if (typeof logFile === 'string') job.logFile = logFile;
  if (detached !== undefined) job.detached = detached;
  // Before the lock: a GPU busy outside rp must be seen before this job is granted it.
  await session.lookAtGpus(prepared.request.gpus > 0);
  const now = session.clock.now();
  return session.transact((state, policy) => {
    const queued = enqueue(state, job, policy, now, systemRandomInt);
    return typeof logFile === 'function' ? withLogFile(queued, logFile(queued.result.id)) : queued;
  });
}

/** The ledger entry of a prepared job, before the queue gives it an id. */
export function newJobOf(
  prepared: PreparedJob,
  user: HostUser,
  supervisor: ProcessRef,
  now: Date,
): NewJob {
  return {
    user: user.name,
    uid: user.uid,
    project: { path: prepared.project.root, name: prepared.project.info.name },
    kind: prepared.kind,
    command: prepared.commandLine,
    request: prepared.request,
    submittedAt: now.toISOString(),
    supervisor,
    image: prepared.image.reference,
    ...(prepared.timeLimit ? { timeLimit: prepared.timeLimit } : {}),
    ...(prepared.preemptible === true ? { preemptible: true as const } : {}),
  };
}

/** The transition that queued a job, with the job's log file named after its new id. */
function withLogFile(queued: Transition<JobEntry>, logFile: string): Transition<JobEntry> {
  const job = { ...queued.result, logFile };
  const jobs = queued.state.jobs.map((entry) => (isJob(entry, job) ? job : entry));
  return { ...queued, state: { ...queued.state, jobs }, result: job };
}
