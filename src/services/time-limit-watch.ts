/**
 * A job's own supervisor enforcing its time limit: the warning signal, SIGTERM at the deadline and
 * SIGKILL after the kill wait (src/core/time-limits.ts enforcementSteps), each sent when its time
 * comes. If the supervisor dies first, any rp command's reaping pass takes over from the ledger.
 */
import createDebug from 'debug';
import { enforcementSteps } from '../core/time-limits.js';
import type { JobEntry } from '../core/ledger-state.js';
import type { ContainerEngine } from '../docker/engine.js';
import type { Clock } from '../host/clock.js';

const debug = createDebug('rp:time-limit');

/** setTimeout's longest delay (about 24.8 days); longer waits are made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TimeLimitWatch {
  /** Whether the job was sent SIGTERM for its limit. */
  readonly stopped: boolean;
  /** Cancels what has not been sent yet; call once the container has ended. */
  cancel(): void;
}

export function watchTimeLimit(options: {
  engine: ContainerEngine;
  containerId: string;
  job: Pick<JobEntry, 'id' | 'deadline' | 'timeLimit'>;
  killWaitSeconds: number;
  clock: Clock;
  /** Where a signal that could not be sent is reported. */
  warn: (line: string) => void;
}): TimeLimitWatch {
  const { engine, containerId, job, clock } = options;
  const steps = enforcementSteps(job, options.killWaitSeconds);
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let stopped = false;

  const next = (index: number): void => {
    const step = steps[index];
    if (cancelled || step === undefined) return;
    const delay = step.at.getTime() - clock.now().getTime();
    if (delay > 0) {
      timer = setTimeout(() => next(index), Math.min(delay, MAX_TIMER_MS));
      return;
    }
    if (step.signal === 'SIGTERM') stopped = true;
    debug('job %s: %s', job.id, step.signal);
    engine.signal(containerId, step.signal).catch((error: unknown) => {
      options.warn(`could not send ${step.signal} to job ${job.id}: ${(error as Error).message}`);
    });
    next(index + 1);
  };
  // Steps already past (a supervisor taking over an overdue job) are sent at once, in order; a
  // warning signal that is due after the deadline has passed is not worth sending.
  const firstDue = steps.findIndex(
    (step, index) => index === steps.length - 1 || (steps[index + 1]?.at ?? step.at) > clock.now(),
  );
  next(Math.max(0, firstDue));

  return {
    get stopped() {
      return stopped;
    },
    cancel() {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
