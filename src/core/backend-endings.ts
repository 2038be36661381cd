/**
 * How a job that ran on a backend other than this machine (Slurm) ended, as `rp run`'s exit code
 * and as words for `rp ps`. Pure.
 */
import { ExitCode } from './errors.js';
import type { JobEnding, JobState } from './ledger-state.js';
import { describeReason, type SlurmJobPhase } from './slurm-states.js';

/**
 * The exit code of `rp run` for a job that ended in `phase`: the script's own code where it is
 * known, 124 at the time limit (as a local job), 128+9 for memory, 128+15 for a cancel.
 */
export function exitCodeOfEnding(phase: SlurmJobPhase, exitCode: number | undefined): number {
  switch (phase) {
    case 'timeout':
      return ExitCode.timeout;
    case 'completed':
      return exitCode ?? 0;
    case 'cancelled':
    case 'preempted':
      return exitCode ?? 143;
    case 'out-of-memory':
      return exitCode !== undefined && exitCode !== 0 ? exitCode : 137;
    default:
      return exitCode !== undefined && exitCode !== 0 ? exitCode : 1;
  }
}

/** A state in words: "queued (waiting for resources)", "failed (exit 3)", "timeout". */
export function describePhase(state: {
  phase: SlurmJobPhase;
  reason?: string;
  exitCode?: number;
}): string {
  if (state.phase === 'queued') {
    return state.reason === undefined ? 'queued' : `queued (${describeReason(state.reason)})`;
  }
  if (state.phase === 'running') return 'running';
  if (state.phase === 'unknown') return 'ended (unknown how)';
  return state.exitCode === undefined || state.phase === 'completed'
    ? state.phase
    : `${state.phase} (exit ${state.exitCode})`;
}

/**
 * A local job's state in the Backend's terms: its ledger state while it is live, its history
 * ending once it has left the ledger.
 */
export function localPhase(
  from: { state: JobState } | { ending: JobEnding; exitCode?: number },
): SlurmJobPhase {
  if ('state' in from) return from.state === 'running' ? 'running' : 'queued';
  switch (from.ending) {
    case 'exited':
      return from.exitCode === undefined || from.exitCode === 0 ? 'completed' : 'failed';
    case 'killed':
    case 'cancelled':
      return 'cancelled';
    case 'timeout':
      return 'timeout';
    case 'preempted':
      return 'preempted';
    case 'failed':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** How long rp keeps the record of a cluster's job after its (last task's) end. */
export const ENDED_RECORD_KEPT_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Whether a job's record may go: every task (or the job) has ended, and the last of them more
 * than `keptMs` before `now`. A record with a live task, or an ending without a readable time,
 * stays.
 */
export function recordExpired(
  record: {
    array?: { indices: readonly number[] } | undefined;
    ended: Readonly<Record<string, { at: string }>>;
  },
  now: Date,
  keptMs: number = ENDED_RECORD_KEPT_MS,
): boolean {
  const keys = record.array ? record.array.indices.map(String) : [''];
  let last = -Infinity;
  for (const key of keys) {
    const at = Date.parse(record.ended[key]?.at ?? '');
    if (Number.isNaN(at)) return false;
    last = Math.max(last, at);
  }
  return now.getTime() - last > keptMs;
}
