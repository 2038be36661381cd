/**
 * `rp kill` as pure decisions: which job an argument names, whether the requester may kill it, and
 * what killing it means. A job that has not started (queued, or granted while its container is
 * being made) simply leaves the ledger in the same locked transaction; a running one keeps its
 * entry, and its resources, until its container has stopped, which takes a Docker call that must
 * not be made under the host-wide lock.
 */
import { ConfigError, UsageError } from './errors.js';
import {
  jobLabel,
  toHistoryRecord,
  type JobEntry,
  type JobOutcome,
  type LedgerState,
} from './ledger-state.js';
import { finish, schedule, type HostPolicy, type Transition } from './queue-transitions.js';

/** Who asks for the kill. Ownership is by uid: names can be reused, uids are what Docker runs as. */
export interface KillRequester {
  name: string;
  uid: number;
}

/** The most seconds `rp kill --grace` (and the API's `?grace=`) may give a running job. */
export const MAX_KILL_GRACE_SECONDS = 86_400;

/** The user allowed to kill any job. */
export const ROOT_UID = 0;

const JOB_ID = /^[1-9][0-9]{3}(?:_(?:0|[1-9][0-9]*))?$/;
const PID_PREFIX = 'pid=';
const ID_HINT = 'a job id is the four digits after "rp" in "waiting to be scheduled as rp1234"';

/**
 * The job id of `rp kill pid=1234`, `rp kill 1234` or `rp kill --pid 1234`. The same id given both
 * ways is fine; two different ids, none, or anything but four digits is a usage error.
 */
export function parseKillTarget(input: { argument?: string; pidFlag?: string }): string {
  const fromArgument =
    input.argument === undefined
      ? undefined
      : checkJobId(
          input.argument.startsWith(PID_PREFIX)
            ? input.argument.slice(PID_PREFIX.length)
            : input.argument,
          input.argument,
        );
  const fromFlag =
    input.pidFlag === undefined ? undefined : checkJobId(input.pidFlag, `--pid ${input.pidFlag}`);
  if (fromArgument !== undefined && fromFlag !== undefined && fromArgument !== fromFlag) {
    throw new UsageError(`two different jobs given: ${input.argument} and --pid ${input.pidFlag}`, {
      hint: 'rp kill takes one job: rp kill 1234, rp kill pid=1234 or rp kill --pid 1234',
    });
  }
  const id = fromArgument ?? fromFlag;
  if (id === undefined) {
    throw new UsageError('which job? give its id', {
      hint: 'rp kill 1234 (or pid=1234, or --pid 1234); "rp ps" lists the live jobs',
    });
  }
  return id;
}

function checkJobId(value: string, asGiven: string): string {
  if (value === '') {
    throw new UsageError(`"${asGiven}" names no job`, { hint: 'e.g. rp kill pid=1234' });
  }
  if (!JOB_ID.test(value)) {
    throw new UsageError(
      `"${asGiven}" is not a job id: job ids are four digits, 1000 to 9999 (1234_7: task 7 of array 1234)`,
      {
        hint: ID_HINT,
      },
    );
  }
  return value;
}

/** What killing a job means, decided under the lock. */
export type KillPlan =
  /** The job had not started: it has left the ledger (history 'killed'); nothing runs. */
  | { action: 'removed'; job: JobEntry }
  /** The job runs: stop its container, then its entry leaves the ledger. */
  | { action: 'stop'; job: JobEntry; container: { id: string; name: string } };

/** Finds job `id` and checks that `requester` may kill it; throws a user error (exit 3) if not. */
export function findKillableJob(
  state: LedgerState,
  id: string,
  requester: KillRequester,
): JobEntry {
  // "1234" names a plain job, "1234_7" a task of an array.
  const job = state.jobs.find((entry) => jobLabel(entry) === id);
  if (!job) {
    throw new ConfigError(`there is no job ${id} on this host`, {
      hint: 'it may have ended already; "rp ps" lists the live jobs and their ids',
    });
  }
  checkMayKill(job, requester);
  return job;
}

function checkMayKill(job: JobEntry, requester: KillRequester): void {
  if (requester.uid !== ROOT_UID && requester.uid !== job.uid) {
    throw new ConfigError(
      `job ${jobLabel(job)} is ${job.user}'s (uid ${job.uid}); you (${requester.name}, uid ${requester.uid}) may kill only your own jobs`,
      { hint: `ask ${job.user}, or an admin (root), to kill it` },
    );
  }
}

/**
 * The tasks of array `target` ("1234"), in task order, or undefined when `target` does not name
 * a live array (then it names a plain job, or a task, or nothing).
 */
function arrayTasks(state: LedgerState, target: string): JobEntry[] | undefined {
  const tasks = state.jobs.filter((entry) => entry.id === target && entry.array !== undefined);
  if (tasks.length === 0) return undefined;
  return tasks.sort((a, b) => (a.array?.task ?? 0) - (b.array?.task ?? 0));
}

/**
 * The kill transaction, for what `target` names: one job or task, or every live task of an array
 * ("rp kill 1234" ends the whole array). A job that has not started leaves the ledger now (its
 * waiting `rp run` then sees its entry gone and exits saying it was killed), and whatever its
 * grant held is handed on, in one scheduling pass however many left; a running job is only marked,
 * to be stopped outside the lock. Throws for an unknown job or one the requester may not kill,
 * changing nothing.
 */
export function planKills(
  state: LedgerState,
  target: string,
  requester: KillRequester,
  policy: HostPolicy,
  now: Date,
): Transition<KillPlan[]> {
  const jobs = arrayTasks(state, target) ?? [findKillableJob(state, target, requester)];
  jobs.forEach((job) => checkMayKill(job, requester));
  const killedBy = { user: requester.name, uid: requester.uid, at: now.toISOString() };
  const plans: KillPlan[] = jobs.map((job) =>
    job.state === 'running' && job.container
      ? { action: 'stop', job: { ...job, killedBy }, container: job.container }
      : // queued or granted: no container is recorded, so none runs. A supervisor that is making
        // one right now fails to mark it running (the entry is gone) and removes it itself.
        { action: 'removed', job },
  );
  const after = new Map(
    plans.map((plan, i) => [jobs[i], plan.action === 'stop' ? plan.job : undefined]),
  );
  const kept = state.jobs.flatMap((job) => {
    if (!after.has(job)) return [job];
    const marked = after.get(job);
    return marked ? [marked] : [];
  });
  const removed = plans.filter((plan) => plan.action === 'removed').map((plan) => plan.job);
  if (removed.length === 0) return { state: { ...state, jobs: kept }, result: plans };
  const history = removed.map((job) => toHistoryRecord(job, killedOutcome(now)));
  const scheduled = schedule({ ...state, jobs: kept }, policy, now);
  return { ...scheduled, result: plans, history };
}

/** planKills of a plain job or one task: its one plan. */
export function planKill(
  state: LedgerState,
  id: string,
  requester: KillRequester,
  policy: HostPolicy,
  now: Date,
): Transition<KillPlan> {
  const job = findKillableJob(state, id, requester);
  const planned = planKills(state, jobLabel(job), requester, policy, now);
  return { ...planned, result: planned.result[0] as KillPlan };
}

/** The history outcome of a job ended by `rp kill`. */
export function killedOutcome(now: Date, exitCode?: number): JobOutcome {
  return {
    ending: 'killed',
    endedAt: now.toISOString(),
    ...(exitCode === undefined ? {} : { exitCode }),
  };
}

/** Whether `current` is still the submission that was judged as `seen` (ids are reused). */
export function isSameJob(current: JobEntry, seen: JobEntry): boolean {
  return (
    current.id === seen.id &&
    current.seq === seen.seq &&
    current.container?.id === seen.container?.id
  );
}

/**
 * Removes a stopped job whose supervisor is gone, with history 'killed', and hands its resources
 * on. Only the very entry that was stopped is removed: one that its supervisor already finished,
 * or a new job that got the same id since, is left alone (result false, state unchanged).
 */
export function removeStoppedJob(
  state: LedgerState,
  seen: JobEntry,
  outcome: JobOutcome,
  policy: HostPolicy,
  now: Date,
): Transition<boolean> {
  const current = state.jobs.find((entry) => entry.id === seen.id && entry.seq === seen.seq);
  if (!current || !isSameJob(current, seen)) return { state, result: false };
  return finish(state, seen, outcome, policy, now);
}

/** Who removed a stopped job's container and ledger entry. */
export type KillCleanup =
  /** Its own `rp run` (or another rp process) did, as it does for any job that ends. */
  | 'supervisor'
  /** Its `rp run` was gone (SIGKILLed, its session closed), so `rp kill` did. */
  | 'kill'
  /** Its `rp run` lives but had not done it yet when `rp kill` stopped waiting. */
  | 'pending';

/** What `rp kill` did, as printed (and as `--json`). */
export interface KillResult {
  id: string;
  /** The task index, for a task of an array. */
  task?: number;
  user: string;
  uid: number;
  project: string;
  /** The job's state when it was killed. */
  state: JobEntry['state'];
  action: 'removed' | 'stopped';
  container?: { id: string; name: string };
  cleanup?: KillCleanup;
  /** The container's exit code, when rp kill saw it. */
  exitCode?: number;
}

export function killResult(
  plan: KillPlan,
  stopped?: { cleanup: KillCleanup; exitCode?: number },
): KillResult {
  const { job } = plan;
  const result: KillResult = {
    id: job.id,
    ...(job.array === undefined ? {} : { task: job.array.task }),
    user: job.user,
    uid: job.uid,
    project: job.project.name,
    state: job.state,
    action: plan.action === 'stop' ? 'stopped' : 'removed',
  };
  if (plan.action === 'stop') result.container = { ...plan.container };
  if (stopped) result.cleanup = stopped.cleanup;
  if (stopped?.exitCode !== undefined) result.exitCode = stopped.exitCode;
  return result;
}

/** The line `rp kill` prints on stdout. */
export function describeKillResult(result: KillResult): string {
  const label = result.task === undefined ? result.id : `${result.id}_${result.task}`;
  const who = `job ${label} (${result.user}, ${result.project})`;
  if (result.action === 'removed') return `killed ${result.state} ${who}`;
  const code = result.exitCode === undefined ? '' : ` (exit code ${result.exitCode})`;
  switch (result.cleanup) {
    case 'kill':
      return `stopped running ${who}${code}; its rp run was gone, so its container was removed and its resources released`;
    case 'pending':
      return `stopped running ${who}${code}; its rp run has not released its resources yet`;
    default:
      return `stopped running ${who}${code}; its rp run removed the container and released its resources`;
  }
}
