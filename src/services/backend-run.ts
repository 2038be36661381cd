/**
 * `rp run` in the foreground on a backend other than this machine: submit the prepared job, stream
 * its log from the start, report where it stands, and return the script's exit code once it has
 * ended. Ctrl+C (or SIGTERM/SIGHUP) cancels the job and waits for it to end. Above the Backend
 * interface: unit-tested with a fake backend.
 */
import createDebug from 'debug';
import { exitCodeOfEnding } from '../core/backend-endings.js';
import { describeReason } from '../core/slurm-states.js';
import { hasEnded, type Backend, type BackendJob, type SubmitRequest } from './backend.js';
import { exitCodeForSignal } from '../core/errors.js';

const debug = createDebug('rp:backend-run');

/** How often the job's state and log are looked at while it waits or runs. */
export const BACKEND_POLL_MS = 1_000;

export interface BackendRunIo {
  stdout: NodeJS.WritableStream;
  /** Progress lines: queued as, waiting for, started, ended. */
  stderr: NodeJS.WritableStream;
  /** Aborted with the signal's name to cancel the job. */
  signal: AbortSignal;
  pollMs?: number;
  /** Called once the job is submitted (the CLI prints its id). */
  submitted?: (job: BackendJob) => void;
}

export async function runOnBackend(
  backend: Backend,
  request: SubmitRequest,
  io: BackendRunIo,
): Promise<number> {
  const job = await backend.submit(request);
  io.submitted?.(job);
  let cancelling: Promise<void> | undefined;
  const cancel = (): void => {
    debug('cancelling %s', job.id);
    cancelling ??= backend.cancel(job, {}).then(
      () => undefined,
      (error: unknown) => {
        io.stderr.write(`rp: could not cancel rp${job.id}: ${String(error)}\n`);
      },
    );
  };
  if (io.signal.aborted) cancel();
  io.signal.addEventListener('abort', cancel, { once: true });
  try {
    let offset = 0;
    let said = '';
    for (;;) {
      const [state] = await backend.poll([job]);
      const chunk = await backend.readLog(job, offset);
      if (chunk.data.length > 0) io.stdout.write(chunk.data);
      offset = chunk.offset;
      if (state !== undefined) {
        const now =
          state.phase === 'queued'
            ? `waiting in Slurm's queue${state.reason ? `: ${describeReason(state.reason)}` : ''}`
            : state.phase === 'running'
              ? `running as Slurm job ${job.backendJobId}`
              : '';
        if (now !== '' && now !== said) io.stderr.write(`${now}\n`);
        said = now || said;
        if (hasEnded(state.phase)) {
          // What the job wrote last, after the look that found it running.
          const rest = await backend.readLog(job, offset);
          if (rest.data.length > 0) io.stdout.write(rest.data);
          await cancelling;
          if (io.signal.aborted) return exitCodeForSignal(io.signal.reason);
          if (state.phase === 'timeout') io.stderr.write(`rp${job.id} reached its time limit\n`);
          return exitCodeOfEnding(state.phase, state.exitCode);
        }
      }
      await pause(io.pollMs ?? BACKEND_POLL_MS, io.signal);
    }
  } finally {
    io.signal.removeEventListener('abort', cancel);
  }
}

/** Waits `ms`, or less when `signal` aborts (the next look then sees the cancel at once). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (!signal.aborted) signal.addEventListener('abort', done, { once: true });
  });
}
