/**
 * What a job shows on stderr while it waits and starts. On a terminal the queue position is one
 * line rewritten in place; otherwise every change is its own plain line. The job's own output goes
 * to stdout/stderr untouched.
 */
import { formatLocalTime } from '../core/dates.js';
import { formatSeconds } from '../core/durations.js';
import type { Booking, JobEntry } from '../core/ledger-state.js';
import { jobName } from '../core/naming.js';

export interface JobProgress {
  queued(job: JobEntry): void;
  waiting(status: { position: number; waitingFor: string }): void;
  started(job: JobEntry): void;
  logFile(path: string): void;
  timedOut(job: JobEntry): void;
  preempted(job: JobEntry, booking: Booking | undefined): void;
  finished(): void;
}

export function createJobProgress(stream: NodeJS.WriteStream): JobProgress {
  const live = stream.isTTY === true;
  let name = '';
  let statusShown = false;
  const clearStatus = (): void => {
    if (live && statusShown) stream.write('\r\x1b[K');
    statusShown = false;
  };
  return {
    queued: (job) => {
      name = jobName(job.id);
      stream.write(`waiting to be scheduled as ${name}\n`);
    },
    waiting: ({ position, waitingFor }) => {
      const text = `${name}: position ${position} in the queue, waiting for ${waitingFor}`;
      if (live) {
        stream.write(`\r\x1b[K${text}`);
        statusShown = true;
      } else {
        stream.write(`${text}\n`);
      }
    },
    started: (job) => {
      clearStatus();
      const limit = job.timeLimit ? `, time limit ${formatSeconds(job.timeLimit.seconds)}` : '';
      stream.write(`${name} running: ${describeGrant(job)}${limit}\n`);
    },
    timedOut: (job) => {
      clearStatus();
      const limit = formatSeconds(job.timeLimit?.seconds ?? 0);
      stream.write(`${name} reached its time limit of ${limit} and was stopped (exit 124)\n`);
    },
    preempted: (job, booking) => {
      clearStatus();
      const id = job.preempted?.booking ?? 'a booking';
      const whose = booking ? ` of ${booking.user}` : '';
      const at = booking ? ` at ${formatLocalTime(booking.start)}` : '';
      stream.write(
        `${name} was preempted: booking ${id}${whose} began${at} and needs its resources (it ran --preemptible)\n`,
      );
    },
    logFile: (path) => {
      stream.write(`${name}: output also goes to ${path}\n`);
    },
    finished: () => clearStatus(),
  };
}

export function describeGrant(job: JobEntry): string {
  const grant = job.grant;
  if (!grant) return 'no resources';
  const gpus = grant.gpus.length > 0 ? `GPU ${grant.gpus.join(',')}` : 'no GPU';
  const memory =
    grant.memoryMb % 1024 === 0 ? `${grant.memoryMb / 1024} GB` : `${grant.memoryMb} MB`;
  return `${gpus}, CPU ${grant.cpus.join(',')}, ${memory} memory`;
}
