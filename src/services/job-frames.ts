/**
 * The server's side of following a job from a laptop (the hidden `rp remote follow`): the job's
 * stdout and stderr files from the byte offsets the laptop asks for, as frames (core/log-frames.ts)
 * on one stream, until the job has ended; then its ending and exit code from the history.
 */
import { ConfigError } from '../core/errors.js';
import { stderrFileOf } from '../core/launch-spec.js';
import { jobLabel } from '../core/ledger-state.js';
import { encodeChunk, encodeEnd, type JobEnd, type StreamOffsets } from '../core/log-frames.js';
import type { HostSession } from './host-session.js';
import { copyNewBytes, findEnded, findLogFile, FOLLOW_POLL_MS } from './job-logs.js';

export interface FrameOptions {
  jobId: string;
  from: StreamOffsets;
  output: NodeJS.WritableStream;
  /** Aborted when the laptop is gone (its ssh channel closed): stop without an end frame. */
  signal?: AbortSignal;
}

export async function streamJobFrames(session: HostSession, options: FrameOptions): Promise<void> {
  const logFile = await findLogFile(session, options.jobId);
  const errFile = stderrFileOf(logFile);
  const offsets = { ...options.from };
  const send = (stream: 'stdout' | 'stderr') => (bytes: Buffer) =>
    options.output.write(encodeChunk(stream, bytes));
  for (;;) {
    const since = await session.store.changeToken();
    const live = (await session.store.read()).jobs.some((job) => jobLabel(job) === options.jobId);
    // Read after the ledger: once the job is seen gone, its files are complete.
    offsets.stdout = await copyNewBytes(logFile, offsets.stdout, send('stdout'));
    offsets.stderr = await copyNewBytes(errFile, offsets.stderr, send('stderr'));
    if (options.signal?.aborted) return;
    if (!live) {
      options.output.write(encodeEnd(await jobEnd(session, options.jobId)));
      return;
    }
    await session.store.waitForChange({
      since,
      timeoutMs: FOLLOW_POLL_MS,
      signal: options.signal,
    });
  }
}

/** How the job ended, from the history (appended before the job leaves the ledger). */
async function jobEnd(session: HostSession, jobId: string): Promise<JobEnd> {
  const { ended } = await findEnded(session.store.paths.history, jobId);
  if (!ended) {
    throw new ConfigError(`job ${jobId} left the queue without a line in the history`, {
      hint: '"rp history" lists the jobs that ended on this host',
    });
  }
  return { ending: ended.ending, exitCode: ended.exitCode ?? null };
}
