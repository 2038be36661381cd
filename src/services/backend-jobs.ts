/**
 * `rp ps`, `rp queue`, `rp kill` and `rp logs` for the jobs a backend other than this machine holds
 * (Slurm): listed with their states in one poll, cancelled, their logs printed and followed. Above
 * the Backend interface: unit-tested with a fake backend.
 */
import { describePhase } from '../core/backend-endings.js';
import type { BackendJobListing, BackendJobRow } from '../core/backend-job-row.js';
import { UsageError } from '../core/errors.js';
import { jobName } from '../core/naming.js';
import {
  hasEnded,
  type Backend,
  type BackendJob,
  type BackendJobState,
  type BackendName,
  type CancelOutcome,
} from './backend.js';

export type { BackendJobListing, BackendJobRow } from '../core/backend-job-row.js';

/** How long an ended job still shows in `rp ps`, so that its user sees how it ended. */
export const ENDED_SHOWN_MS = 10 * 60 * 1000;

/** The backend's jobs that are live or ended lately, with their states, from one poll. */
export async function listBackendJobs(
  backend: Backend,
  now: Date,
  options: { queuedOnly?: boolean } = {},
): Promise<BackendJobRow[]> {
  const jobs = await backend.list();
  const states = await backend.poll(jobs);
  const rows: BackendJobRow[] = [];
  for (const state of states) {
    const job = jobs.find((candidate) => candidate.id === state.id);
    if (job === undefined) continue;
    if (options.queuedOnly === true && state.phase !== 'queued') continue;
    if (hasEnded(state.phase) && now.getTime() - endedAtMs(state, job) > ENDED_SHOWN_MS) continue;
    rows.push(rowOf(job, state));
  }
  return rows;
}

/**
 * What `rp ps` and `rp queue` show of the host's other backend (the host config's): its jobs and
 * how it is reached; undefined when the host has none.
 */
export async function backendListing(
  backend: Backend | undefined,
  now: Date,
  options: { queuedOnly?: boolean } = {},
): Promise<BackendJobListing | undefined> {
  if (backend === undefined) return undefined;
  return {
    backend: backend.name,
    reachedVia: backend.describe().reachedVia,
    rows: await listBackendJobs(backend, now, options),
  };
}

function endedAtMs(state: BackendJobState, job: BackendJob): number {
  return Date.parse(state.endedAt ?? job.submittedAt);
}

function rowOf(job: BackendJob, state: BackendJobState): BackendJobRow {
  return {
    id: job.id,
    ...(state.task === undefined ? {} : { task: state.task }),
    name: withTask(jobName(job.id), state.task),
    backend: job.backend,
    backendJobId: withTask(job.backendJobId, state.task),
    user: job.user,
    project: job.project.name,
    command: job.command,
    gpus: job.request.gpus,
    cpus: job.request.cpus,
    memoryMb: job.request.memoryMb,
    phase: state.phase,
    ...(state.reason === undefined ? {} : { reason: state.reason }),
    ...(state.exitCode === undefined ? {} : { exitCode: state.exitCode }),
    state: describePhase(state),
    submittedAt: job.submittedAt,
  };
}

/** A job's name or backend id with its array task appended: rp1234_7, 5678_7. */
function withTask(name: string, task: number | undefined): string {
  return task === undefined ? name : `${name}_${task}`;
}

/** A job id as `rp kill` and `rp logs` take it: 1234, rp1234 or 1234_7. */
export function parseJobTarget(text: string): { id: string; task?: number } {
  const match = /^(?:rp)?(\d{4})(?:_(\d+))?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(`"${text}" is not a job id`, {
      hint: 'job ids have four digits, e.g. 1234; a task of an array is 1234_7',
    });
  }
  return { id: match[1] as string, ...(match[2] === undefined ? {} : { task: Number(match[2]) }) };
}

export interface BackendKillResult {
  id: string;
  task?: number;
  backend: BackendName;
  backendJobId: string;
  /** Where the job stood when it was cancelled. */
  was: string;
  /** Set when the backend gives less than the grace asked for: the seconds it gives at most. */
  graceCutToSeconds?: number;
}

/**
 * Cancels a job the backend holds; undefined when it holds no job of that id (the caller then
 * looks on this machine). A job that has already ended is not an error: it says so.
 */
export async function killBackendJob(
  backend: Backend,
  target: { id: string; task?: number },
  options: { graceSeconds?: number } = {},
): Promise<BackendKillResult | undefined> {
  const job = await backend.find(target.id);
  if (job === undefined) return undefined;
  if (target.task !== undefined && !(job.tasks ?? []).includes(target.task)) {
    throw new UsageError(`${jobName(job.id)} has no task ${target.task}`, {
      hint: job.tasks ? `its tasks are ${job.tasks.join(', ')}` : 'it is not an array',
    });
  }
  const states = (await backend.poll([job])).filter(
    (state) => target.task === undefined || state.task === target.task,
  );
  const live = states.filter((state) => !hasEnded(state.phase));
  const outcome: CancelOutcome =
    live.length === 0
      ? {}
      : await backend.cancel(job, {
          ...(options.graceSeconds === undefined ? {} : { graceSeconds: options.graceSeconds }),
          ...(target.task === undefined ? {} : { task: target.task }),
        });
  const was =
    live.length === 0
      ? `already ended: ${states.map(describePhase).join(', ')}`
      : [...new Set(live.map((state) => state.phase))].join(', ');
  return {
    id: job.id,
    ...(target.task === undefined ? {} : { task: target.task }),
    backend: job.backend,
    backendJobId: withTask(job.backendJobId, target.task),
    was,
    ...outcome,
  };
}

/** The warning for a kill whose grace the backend cut short; undefined when it gave it all. */
export function graceCutWarning(
  result: BackendKillResult,
  graceSeconds: number | undefined,
): string | undefined {
  if (result.graceCutToSeconds === undefined || graceSeconds === undefined) return undefined;
  const name = withTask(jobName(result.id), result.task);
  return `${name} gets at most ${result.graceCutToSeconds} s between SIGTERM and SIGKILL, not the ${graceSeconds} s of --grace: the cluster SIGKILLs a cancelled job's script its KillWait (${result.graceCutToSeconds} s) after the SIGTERM`;
}

export function describeBackendKill(result: BackendKillResult): string {
  const name = withTask(jobName(result.id), result.task);
  return result.was.startsWith('already ended')
    ? `${name} (${result.backend} job ${result.backendJobId}) ${result.was}`
    : `cancelled ${name} (${result.backend} job ${result.backendJobId}, was ${result.was})`;
}

export interface BackendLogsOptions {
  target: { id: string; task?: number };
  follow: boolean;
  output: NodeJS.WritableStream;
  signal: AbortSignal;
  pollMs?: number;
}

/**
 * Prints a job's log; with `follow`, goes on printing what it writes until it has ended. Returns
 * false when the backend holds no job of that id.
 */
export async function printBackendLogs(
  backend: Backend,
  options: BackendLogsOptions,
): Promise<boolean> {
  const job = await backend.find(options.target.id);
  if (job === undefined) return false;
  if (job.tasks !== undefined && options.target.task === undefined) {
    throw new UsageError(`${jobName(job.id)} is an array: name one of its tasks`, {
      hint: `e.g. rp logs ${job.id}_${job.tasks[0] ?? 0}`,
    });
  }
  let offset = 0;
  for (;;) {
    const states = options.follow ? await backend.poll([job]) : [];
    const chunk = await backend.readLog(job, offset, options.target.task);
    if (chunk.data.length > 0) options.output.write(chunk.data);
    offset = chunk.offset;
    const state = states.find((candidate) => candidate.task === options.target.task);
    if (!options.follow || options.signal.aborted || state === undefined || hasEnded(state.phase)) {
      if (state !== undefined && hasEnded(state.phase)) {
        const rest = await backend.readLog(job, offset, options.target.task);
        if (rest.data.length > 0) options.output.write(rest.data);
      }
      return true;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.pollMs ?? 1_000);
      function done(): void {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', done);
        resolve();
      }
      options.signal.addEventListener('abort', done, { once: true });
    });
  }
}
