/**
 * A claimed drop-folder file becomes a detached job of its owner, and an ended job's input is
 * settled. The job is an ordinary queued job of the owner (their limits, the fair order, `rp ps`),
 * built and run as them: the input is mounted read-only at /input/<name>, and /output is their
 * `~/rp-output/<activity>/<stem>-<id>/`, made by them before the job is queued, where the job also
 * writes its log. The host supervisor starts it like any detached job.
 */
import { readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  INPUT_MOUNT,
  JOB_LOG_NAME,
  KEPT_INPUT_NAME,
  OUTPUT_MOUNT,
  OUTPUT_ROOT,
  outputFolderName,
  type Activity,
} from '../core/activities.js';
import { monthKey } from '../core/history-months.js';
import type { LaunchSpec } from '../core/launch-spec.js';
import {
  allocateJobId,
  MIN_JOB_ID,
  type HistoryRecord,
  type JobEntry,
  type LedgerState,
  type ProcessRef,
} from '../core/ledger-state.js';
import { enqueue, type NewJob } from '../core/queue-transitions.js';
import { copyFileAs, groupsOf, makeDirAs, type Account } from '../host/accounts.js';
import { systemRandomInt } from '../host/ids.js';
import { currentProcessRef } from '../host/process.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { historyNewestFirst } from '../ledger/history.js';
import { withLaunchFile } from '../ledger/launch-files.js';
import type { BuildReporter } from './build-image.js';
import type { HostSession } from './host-session.js';
import { containerLaunchOf } from './job-launch.js';
import { prepareJob, newJobOf, type PreparedJob } from './job-submission.js';
import { ensureHostSupervisor } from './supervisor-start.js';

/** A file claimed into the work area: `work/<token>/<file>`, described by `work/<token>/claim.json`. */
export interface Claim {
  /** The claim's folder in the work area. */
  dir: string;
  /** The name the user gave the file. */
  input: string;
  /** Its name in the claim folder and the container (no ":" or ","; see claimedFileName). */
  file: string;
  owner: Account;
  /** The drain that claimed it: when it died before queueing the job, the next one does. */
  claimedBy: ProcessRef;
  /** Set once its job is queued. */
  job?: { id: string; submittedAt: string; outputDir: string };
}

export const CLAIM_FILE = 'claim.json';

export function claimedPath(claim: Pick<Claim, 'dir' | 'file'>): string {
  return join(claim.dir, claim.file);
}

export async function writeClaim(claim: Claim): Promise<void> {
  await writeFileAtomic(join(claim.dir, CLAIM_FILE), `${JSON.stringify(claim)}\n`, {
    mode: 0o600,
  });
}

export async function readClaim(dir: string): Promise<Claim | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, CLAIM_FILE), 'utf8')) as Claim;
  } catch {
    return undefined;
  }
}

/** The job was given an id another job took meanwhile: pick another. */
class IdTakenError extends Error {}

const ID_ATTEMPTS = 20;

/** Queues the claimed file's job as its owner; returns the job. Errors say why it cannot run. */
export async function submitClaim(
  session: HostSession,
  activity: Activity,
  claim: Claim,
  build: BuildReporter,
): Promise<JobEntry> {
  const { owner } = claim;
  const prepared = await prepareJob({
    cwd: activity.project,
    user: owner,
    kind: 'run',
    script: activity.script,
    ...(activity.request.cpus === undefined ? {} : { cpu: activity.request.cpus }),
    ...(activity.request.gpus === undefined ? {} : { gpus: activity.request.gpus }),
    ...(activity.request.memoryGb === undefined ? {} : { memoryGb: activity.request.memoryGb }),
    ...(activity.time === undefined ? {} : { time: activity.time }),
    session,
    build,
  });
  const groups = await groupsOf(owner.name);
  const submitter = await currentProcessRef();
  // As any submission: a GPU busy outside rp is known before the queue decides.
  await session.lookAtGpus(prepared.request.gpus > 0);
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt += 1) {
    const { idsElsewhere = [] } = await session.policy();
    const taken = new Set([...liveIds(await session.store.read()), ...idsElsewhere]);
    const id = allocateJobId(taken, systemRandomInt);
    if (id === undefined) break;
    const outputDir = join(
      owner.home,
      OUTPUT_ROOT,
      activity.name,
      outputFolderName(claim.input, id),
    );
    if (!(await makeDirAs(owner, outputDir, true))) continue;
    const spec = activityLaunch(prepared, groups, { activity, claim, outputDir });
    try {
      const job = await withLaunchFile(session.store.paths, spec, (launch) =>
        queueWithId(session, id, {
          ...newJobOf(prepared, owner, submitter, session.clock.now()),
          logFile: join(outputDir, JOB_LOG_NAME),
          detached: { launch },
          activity: { name: activity.name, input: claim.input },
        }),
      );
      claim.job = { id: job.id, submittedAt: job.submittedAt, outputDir };
      await writeClaim(claim);
      await ensureHostSupervisor(session);
      return job;
    } catch (error) {
      await rmdir(outputDir).catch(() => undefined);
      if (!(error instanceof IdTakenError)) throw error;
    }
  }
  throw new Error('no job id was free for the job: the queue is full');
}

function liveIds(state: LedgerState): Set<string> {
  return new Set(state.jobs.map((job) => job.id));
}

/** The container of an activity job: the project read-only, the input read-only, /output. */
function activityLaunch(
  prepared: PreparedJob,
  groups: number[],
  { activity, claim, outputDir }: { activity: Activity; claim: Claim; outputDir: string },
): LaunchSpec {
  const base = containerLaunchOf(prepared, groups);
  const input = `${INPUT_MOUNT}/${claim.file}`;
  return {
    ...base,
    mounts: [
      ...base.mounts.map((mount) => ({ ...mount, readOnly: true })),
      { source: claimedPath(claim), target: input, readOnly: true },
      { source: outputDir, target: OUTPUT_MOUNT },
    ],
    env: { ...base.env, RP_INPUT: input, RP_OUTPUT: OUTPUT_MOUNT, RP_ACTIVITY: activity.name },
    logDir: { host: outputDir, container: OUTPUT_MOUNT },
  };
}

/** Queues `job` with the id its output folder was named after, or throws IdTakenError. */
async function queueWithId(session: HostSession, id: string, job: NewJob): Promise<JobEntry> {
  const now = session.clock.now();
  return session.transact((state, policy) => {
    if (liveIds(state).has(id)) throw new IdTakenError();
    return enqueue(state, job, policy, now, () => Number(id) - MIN_JOB_ID);
  });
}

/** How a claim's job ended: still live, ended with this record, or gone without a record. */
export type ClaimOutcome =
  { kind: 'live' } | { kind: 'ended'; record: HistoryRecord } | { kind: 'lost' };

export async function claimOutcome(session: HostSession, claim: Claim): Promise<ClaimOutcome> {
  const job = claim.job;
  if (job === undefined) return { kind: 'lost' };
  const mine = (entry: { id: string; submittedAt: string }): boolean =>
    entry.id === job.id && entry.submittedAt === job.submittedAt;
  if ((await session.store.read()).jobs.some(mine)) return { kind: 'live' };
  const since = monthKey(new Date(job.submittedAt));
  for await (const month of historyNewestFirst(session.store.paths.history)) {
    const record = month.records.find(mine);
    if (record) return { kind: 'ended', record };
    if (month.month <= since) break;
  }
  return { kind: 'lost' };
}

export function succeeded(record: HistoryRecord): boolean {
  return record.ending === 'exited' && record.exitCode === 0;
}

/**
 * Settles the input of a claim whose job ended: removed after a success (kept beside the results
 * with keepInput), copied as `input` into the output folder, as the owner, after a failure. The
 * claim folder is removed only once the input is safe.
 */
export async function settleInput(claim: Claim, keep: boolean): Promise<void> {
  if (keep && claim.job !== undefined) {
    await copyFileAs(claim.owner, claimedPath(claim), join(claim.job.outputDir, KEPT_INPUT_NAME));
  }
  await rm(claim.dir, { recursive: true, force: true });
}
