/**
 * Time limits (`rp run --time 2h`): which limit a job gets, when its time is up, what is done
 * about it and when, and how it ended. Pure; src/services/time-limit-watch.ts and the reaper act
 * on the answers.
 *
 * The clock starts when the job's container starts: its deadline is fixed when it is marked
 * running and written to the ledger and to the container (label and RP_DEADLINE), so enforcement
 * never depends on one process staying alive. At the deadline the container gets SIGTERM, and
 * SIGKILL `killWaitSeconds` later; `--signal USR1@60` sends a signal that long before the deadline.
 */
import { formatSeconds, type TimeLimit } from './durations.js';
import { UsageError } from './errors.js';
import { DEFAULT_KILL_WAIT_SECONDS, limitFor, type UserLimits } from './host-config.js';
import type { JobEntry, TimeLimitSpec } from './ledger-state.js';

/** Seconds before the deadline at which `--signal NAME` without `@SECONDS` is sent (as Slurm). */
export const DEFAULT_SIGNAL_LEAD_SECONDS = 60;

/** Signals a job may ask for ahead of its limit (names without "SIG"). */
const SIGNAL_NAMES = new Set(['USR1', 'USR2', 'TERM', 'INT', 'HUP', 'QUIT', 'ALRM', 'WINCH']);

/**
 * The time limit a job gets, in seconds (undefined: none): the one it asked for (`--time`, else
 * the project's `time`), else the host's `defaultTime`, else the user's `maxTime`. A limit above
 * the user's `maxTime`, or none at all where there is a `maxTime`, is refused by admission
 * (timeLimitRefusal), not here: the config read under the lock decides.
 */
export function resolveTimeLimit(
  requested: TimeLimit | undefined,
  limits: UserLimits,
  user: string,
): number | undefined {
  if (requested !== undefined) return requested === 'unlimited' ? undefined : requested;
  const max = limitFor(limits, user).maxTimeSeconds;
  const fallback = limits.defaultTimeSeconds;
  if (fallback === undefined) return max;
  return max === undefined ? fallback : Math.min(fallback, max);
}

/**
 * Why a job with this limit (undefined: none) may not run for `user`, or undefined when it may.
 * `where` says how the user set it, for the message: "--time", ".rp/info.json time".
 */
export function timeLimitRefusal(
  seconds: number | undefined,
  limits: UserLimits,
  user: string,
): string | undefined {
  const max = limitFor(limits, user).maxTimeSeconds;
  if (max === undefined) return undefined;
  if (seconds === undefined) {
    return `the job has no time limit but ${user} may run jobs of at most ${formatSeconds(max)}`;
  }
  if (seconds > max) {
    return (
      `the job's time limit is ${formatSeconds(seconds)} but ${user} may run jobs of at most ` +
      `${formatSeconds(max)}`
    );
  }
  return undefined;
}

/**
 * `--signal USR1@60`, `--signal SIGUSR2`, `--signal 10@30` as Slurm writes it (a leading "B:" is
 * accepted and ignored: rp always signals the whole container). Throws UsageError.
 */
export function parseSignalSpec(text: string): { name: string; before: number } {
  const match = /^(?:B:)?(?:SIG)?([A-Z0-9]+)(?:@(\d+))?$/i.exec(text.trim());
  const bare = match?.[1]?.toUpperCase();
  const name = bare === undefined ? undefined : (NUMBERED_SIGNALS[bare] ?? bare);
  if (match === null || name === undefined || !SIGNAL_NAMES.has(name)) {
    throw new UsageError(`--signal "${text}" is not a signal and a lead time`, {
      hint: `write NAME[@SECONDS], e.g. USR1@60; NAME is one of ${[...SIGNAL_NAMES].join(', ')}`,
    });
  }
  const before = match[2] === undefined ? DEFAULT_SIGNAL_LEAD_SECONDS : Number(match[2]);
  return { name: `SIG${name}`, before };
}

const NUMBERED_SIGNALS: Record<string, string> = {
  '1': 'HUP',
  '2': 'INT',
  '3': 'QUIT',
  '10': 'USR1',
  '12': 'USR2',
  '14': 'ALRM',
  '15': 'TERM',
  '28': 'WINCH',
};

/**
 * The limit a submission carries: seconds and the warning signal. Throws UsageError when the
 * signal cannot be sent (no limit, or a lead time as long as the limit).
 */
export function timeLimitSpec(
  seconds: number | undefined,
  signal: { name: string; before: number } | undefined,
): TimeLimitSpec | undefined {
  if (signal !== undefined && seconds === undefined) {
    throw new UsageError('--signal needs a time limit: the signal is sent ahead of it', {
      hint: 'add --time, e.g. --time 2h --signal USR1@60',
    });
  }
  if (seconds === undefined) return undefined;
  if (signal === undefined) return { seconds };
  if (signal.before >= seconds) {
    throw new UsageError(
      `--signal ${signal.name.slice(3)}@${signal.before} would be sent before the job starts: ` +
        `its time limit is ${formatSeconds(seconds)}`,
      { hint: 'give a lead time shorter than the limit' },
    );
  }
  return { seconds, signal: { ...signal } };
}

/**
 * The deadline of a job started at `start`: its limit after the start, counted from the next whole
 * second (RP_DEADLINE is in epoch seconds, and a job never gets less than its limit).
 */
export function deadlineOf(start: Date, seconds: number): Date {
  return new Date(Math.ceil(start.getTime() / 1000) * 1000 + seconds * 1000);
}

/**
 * The deadline of a job whose container starts at `start`: its time limit after the start, or
 * the end of the booking it was granted in, whichever comes first; undefined for neither.
 */
export function jobDeadline(
  job: Pick<JobEntry, 'timeLimit' | 'booking'>,
  start: Date,
): Date | undefined {
  const byLimit = job.timeLimit ? deadlineOf(start, job.timeLimit.seconds).getTime() : Infinity;
  const byBooking = job.booking ? Date.parse(job.booking.until) : Infinity;
  const earliest = Math.min(byLimit, Number.isNaN(byBooking) ? Infinity : byBooking);
  return Number.isFinite(earliest) ? new Date(earliest) : undefined;
}

/** The kill wait in force: the config's, else DEFAULT_KILL_WAIT_SECONDS. */
export function killWaitOf(limits: UserLimits): number {
  return limits.killWaitSeconds ?? DEFAULT_KILL_WAIT_SECONDS;
}

/**
 * When the job will have given back what it holds, at the latest, in epoch ms: its deadline plus
 * the kill wait once it runs, `now` plus its limit and the kill wait before; Infinity without a
 * limit. What the scheduler plans around (backfill, bookings).
 */
export function latestEndMs(
  job: Pick<JobEntry, 'timeLimit' | 'deadline'>,
  now: Date,
  killWaitSeconds: number,
): number {
  const wait = killWaitSeconds * 1000;
  if (job.deadline !== undefined) {
    const deadline = Date.parse(job.deadline);
    if (!Number.isNaN(deadline)) return Math.max(now.getTime(), deadline + wait);
  }
  if (job.timeLimit === undefined) return Infinity;
  return deadlineOf(now, job.timeLimit.seconds).getTime() + wait;
}

/** What to send a running job's container at `now`. */
export type OverdueAction = 'none' | 'SIGTERM' | 'SIGKILL';

/**
 * Whoever finds a running job whose supervisor is gone: nothing before its deadline, SIGTERM from
 * the deadline, SIGKILL from the end of the kill wait on.
 */
export function overdueAction(
  job: Pick<JobEntry, 'deadline'>,
  now: Date,
  killWaitSeconds: number,
): OverdueAction {
  if (job.deadline === undefined) return 'none';
  const deadline = Date.parse(job.deadline);
  if (Number.isNaN(deadline) || now.getTime() < deadline) return 'none';
  return now.getTime() >= deadline + killWaitSeconds * 1000 ? 'SIGKILL' : 'SIGTERM';
}

/** A step of enforcing a limit: at `at`, send `signal` to the container. */
export interface LimitStep {
  at: Date;
  signal: string;
}

/**
 * What the job's own supervisor does, in order: the warning signal (when asked for), SIGTERM at
 * the deadline, SIGKILL after the kill wait. Empty for a job without a deadline.
 */
export function enforcementSteps(
  job: Pick<JobEntry, 'deadline' | 'timeLimit'>,
  killWaitSeconds: number,
): LimitStep[] {
  if (job.deadline === undefined) return [];
  const deadline = Date.parse(job.deadline);
  if (Number.isNaN(deadline)) return [];
  const steps: LimitStep[] = [];
  const warning = job.timeLimit?.signal;
  if (warning !== undefined) {
    steps.push({ at: new Date(deadline - warning.before * 1000), signal: warning.name });
  }
  steps.push({ at: new Date(deadline), signal: 'SIGTERM' });
  steps.push({ at: new Date(deadline + killWaitSeconds * 1000), signal: 'SIGKILL' });
  return steps;
}

/** Whether a job that ended at `endedAt` ended because its time was up. */
export function endedByTimeLimit(job: Pick<JobEntry, 'deadline'>, endedAt: Date): boolean {
  if (job.deadline === undefined) return false;
  const deadline = Date.parse(job.deadline);
  return !Number.isNaN(deadline) && endedAt.getTime() >= deadline;
}

/** Seconds a running job has left (0 once overdue); undefined without a deadline. */
export function secondsLeft(job: Pick<JobEntry, 'deadline'>, now: Date): number | undefined {
  if (job.deadline === undefined) return undefined;
  const deadline = Date.parse(job.deadline);
  if (Number.isNaN(deadline)) return undefined;
  return Math.max(0, Math.floor((deadline - now.getTime()) / 1000));
}
