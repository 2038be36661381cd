/**
 * `rp run --detach`: the job is validated, built and queued here, then handed to a supervisor in
 * a session of its own that survives the terminal closing. Its output always goes to a log file.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExitCode, NoCapacityError, RpError, UsageError } from '../core/errors.js';
import { isJob, type JobEntry, type JobKey } from '../core/ledger-state.js';
import { finish } from '../core/queue-transitions.js';
import { spawnDetached } from '../host/exec.js';
import { logFilePath } from './job-spec.js';
import { prepareJob, submitJob, type JobRequestOptions } from './run-job.js';

/** How long the supervisor may take to start and take the job over. */
const ADOPTION_TIMEOUT_MS = 30_000;

export interface DetachOptions {
  outfileName?: string;
  noWait: boolean;
  /** The command line that runs the supervisor; `--adopt <id>:<seq>` is appended. */
  supervisorCommand: { program: string; args: string[] };
}

export interface DetachResult {
  job: JobEntry;
  logFile: string;
  supervisorPid: number;
}

export async function detachJob(
  request: JobRequestOptions,
  options: DetachOptions,
): Promise<DetachResult> {
  const { session } = request;
  const prepared = await prepareJob(request);
  const name = options.outfileName ?? prepared.project.info.name;
  const logFile = logFilePath(prepared.project, name, session.clock.now()) as string;
  await mkdir(dirname(logFile), { recursive: true });
  const job = await submitJob(session, prepared, request.user, logFile);

  if (options.noWait && job.state === 'queued') {
    await cancel(request, job);
    throw new NoCapacityError(`job ${job.id} cannot start now and --no-wait was given`, {
      hint: 'run without --no-wait to wait in the queue; "rp ps" shows what is in use',
    });
  }

  const supervisor = spawnDetached(
    options.supervisorCommand.program,
    [...options.supervisorCommand.args, '--adopt', `${job.id}:${job.seq}`],
    { cwd: request.cwd, outputFile: logFile },
  );
  await waitForAdoption(request, job, supervisor);
  return { job, logFile, supervisorPid: supervisor.pid };
}

/** Waits until the supervisor has made the job its own, or fails if it died first. */
async function waitForAdoption(
  request: JobRequestOptions,
  key: JobKey,
  supervisor: { pid: number; exited: Promise<number | null> },
): Promise<void> {
  const { store } = request.session;
  let exitCode: number | null | undefined;
  void supervisor.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + ADOPTION_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const since = await store.changeToken();
    const job = (await store.read()).jobs.find((entry) => isJob(entry, key));
    // Adopted, or already over (a very short job): either way the supervisor has it.
    if (!job || job.supervisor.pid === supervisor.pid) return;
    if (exitCode !== undefined) break;
    await store.waitForChange({ since, timeoutMs: 250 });
  }
  await cancel(request, key);
  throw new RpError(
    exitCode === undefined
      ? `the background supervisor of job ${key.id} did not start within ${ADOPTION_TIMEOUT_MS / 1000} s`
      : `the background supervisor of job ${key.id} exited (${exitCode}) before taking the job over`,
    ExitCode.bug,
    { hint: 'its log file may say why' },
  );
}

async function cancel(request: JobRequestOptions, job: JobKey): Promise<void> {
  const { session } = request;
  const now = session.clock.now();
  await session.transact((state, policy) =>
    finish(state, job, { ending: 'cancelled', endedAt: now.toISOString() }, policy, now),
  );
}

/** The job named by the hidden `--adopt ID:SEQ` of the background supervisor. */
export function parseAdoptKey(text: string): JobKey {
  const match = /^([1-9][0-9]{3}):([1-9][0-9]*)$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new UsageError(`--adopt ${text}: expected ID:SEQ, such as 1234:57`);
  }
  return { id: match[1], seq: Number(match[2]) };
}
