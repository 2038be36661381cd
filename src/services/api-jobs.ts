/**
 * The jobs of the HTTP API, each request acting as the token's user with the CLI's rules: anyone
 * sees the queue (as `rp ps`), a job's log and its kill are for its owner or root, and a job is
 * submitted only for a project folder the user owns, by `rp run --detach` run as that user.
 */
import { lstat } from 'node:fs/promises';
import createDebug from 'debug';
import { badRequest, forbidden, mayActOn, notFound, ApiError } from '../core/api-errors.js';
import type { SubmitJobBody } from '../core/api-requests.js';
import { RpError } from '../core/errors.js';
import type { KillResult } from '../core/kill.js';
import { jobLabel, type HistoryRecord, type JobEntry } from '../core/ledger-state.js';
import type { HostUser } from '../host/identity.js';
import { NotPermittedError, runRpAs } from '../host/rp-as-user.js';
import type { HostSession } from './host-session.js';
import { findEnded } from './job-logs.js';
import { killJob } from './kill-job.js';

const debug = createDebug('rp:api');

/** How long a submission may take: its image is built first. */
const SUBMIT_TIMEOUT_MS = 30 * 60_000;

/** One job as the API shows it, live or ended. */
export interface JobView {
  id: string;
  user: string;
  uid: number;
  project: { name: string; path: string };
  command: string;
  state: JobEntry['state'] | 'ended';
  request: { gpus: number; cpus: number; memoryMb: number };
  submittedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  ending: HistoryRecord['ending'] | null;
  exitCode: number | null;
}

/** The job `id` ("1234", "1234_7"), live or ended, or a 404. */
export async function findJob(session: HostSession, id: string): Promise<JobView> {
  const live = (await session.store.read()).jobs.find((job) => jobLabel(job) === id);
  if (live) return liveView(live);
  const { ended } = await findEnded(session.store.paths.history, id);
  if (ended) return endedView(ended);
  throw notFound(`there is no job ${id} on this host, running or finished`);
}

function liveView(job: JobEntry): JobView {
  return {
    ...common(job),
    state: job.state,
    startedAt: job.startedAt ?? null,
    endedAt: null,
    ending: null,
    exitCode: null,
  };
}

function endedView(record: HistoryRecord): JobView {
  return {
    ...common(record),
    state: 'ended',
    startedAt: record.startedAt ?? null,
    endedAt: record.endedAt,
    ending: record.ending,
    exitCode: record.exitCode ?? null,
  };
}

function common(job: JobEntry | HistoryRecord) {
  return {
    id: jobLabel(job),
    user: job.user,
    uid: job.uid,
    project: { name: job.project.name, path: job.project.path },
    command: job.command,
    request: { gpus: job.request.gpus, cpus: job.request.cpus, memoryMb: job.request.memoryMb },
    submittedAt: job.submittedAt,
  };
}

/** The job, if `user` may act on it (its owner, or root): else a 403; unknown, a 404. */
export async function ownedJob(session: HostSession, user: HostUser, id: string): Promise<JobView> {
  const job = await findJob(session, id);
  if (!mayActOn(user.uid, job.uid)) {
    throw forbidden(`job ${id} is ${job.user}'s; you (${user.name}) may act only on your own jobs`);
  }
  return job;
}

/** `DELETE /api/v1/jobs/:id?grace=N`: `rp kill [--grace N]` as `user`. */
export async function killJobAs(
  session: HostSession,
  user: HostUser,
  id: string,
  graceSeconds?: number,
): Promise<KillResult[]> {
  const job = await ownedJob(session, user, id);
  if (job.state === 'ended') throw new ApiError(409, 'ended', `job ${id} has already ended`);
  return killJob({
    id,
    requester: { name: user.name, uid: user.uid },
    session,
    ...(graceSeconds === undefined ? {} : { graceSeconds }),
  });
}

/** What `rp run --detach --json` prints. */
export interface SubmittedJob {
  id: string;
  name: string;
  logFile: string;
}

/** `POST /api/v1/jobs`: `rp run --detach` in `body.project`, which `user` must own, as `user`. */
export async function submitJobAs(user: HostUser, body: SubmitJobBody): Promise<SubmittedJob> {
  // lstat: a link the user planted to someone else's project is not their folder.
  const stats = await lstat(body.project).catch(() => undefined);
  if (stats === undefined || !stats.isDirectory()) {
    throw badRequest(`body.project: ${body.project} is not a folder on this host`);
  }
  if (!mayActOn(user.uid, stats.uid)) {
    throw forbidden(`${body.project} is not yours (${user.name}): submit only your own projects`);
  }
  const args = ['run', '--detach', '--json', `--script=${body.script}`];
  if (body.cpu !== undefined) args.push('--cpu', String(body.cpu));
  if (body.gpu !== undefined) args.push('--gpu', String(body.gpu));
  if (body.mem !== undefined) args.push('--mem', String(body.mem));
  if (body.time !== undefined) args.push('--time', body.time);
  debug('submitting in %s as %s', body.project, user.name);
  let result;
  try {
    result = await runRpAs(user, args, { cwd: body.project, timeoutMs: SUBMIT_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof NotPermittedError) throw forbidden(error.message);
    throw error;
  }
  if (result.exitCode !== 0) throw submissionError(result.exitCode, result.stderr);
  return JSON.parse(result.stdout) as SubmittedJob;
}

/** rp's own message ("rp: ..." and its hint) with the status its exit code stands for. */
function submissionError(exitCode: number, stderr: string): RpError {
  const lines = stderr
    .split('\n')
    .filter((line) => line.startsWith('rp: ') || line.startsWith('hint: '));
  const message =
    lines.find((line) => line.startsWith('rp: '))?.slice(4) ?? `rp run exited ${exitCode}`;
  const hint = lines.find((line) => line.startsWith('hint: '))?.slice(6);
  return new RpError(message, exitCode, hint === undefined ? {} : { hint });
}
