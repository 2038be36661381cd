/**
 * `GET /api/v1/jobs/:id/logs`: a job's log from a byte offset, then what it writes, until it has
 * ended: the same loop as `rp logs -f`, handing chunks to a sink instead of a terminal. Each chunk
 * ends on a whole UTF-8 character, so the offset after it is where a resumed stream starts.
 */
import { open } from 'node:fs/promises';
import { wholeUtf8Length } from '../core/sse.js';
import { jobLabel } from '../core/ledger-state.js';
import type { HostSession } from './host-session.js';
import { findEnded, findLogFile, FOLLOW_POLL_MS } from './job-logs.js';

/** The most bytes one chunk carries. */
const CHUNK_BYTES = 64 * 1024;

export interface LogSink {
  /** `text` is the log from `offset - bytes` to `offset`. */
  chunk(text: string, offset: number): void;
  /** The job has ended and its whole log was sent. */
  end(ended: { exitCode: number | null; ending: string | null; offset: number }): void;
}

export async function followJobLog(
  session: HostSession,
  options: {
    id: string;
    from: number;
    sink: LogSink;
    signal: AbortSignal;
    /** Called once the log file is known: errors before this are the request's own. */
    onReady?: () => void;
  },
): Promise<void> {
  const { id, sink, signal } = options;
  const logFile = await findLogFile(session, id);
  options.onReady?.();
  let offset = options.from;
  while (!signal.aborted) {
    const since = await session.store.changeToken();
    const live = (await session.store.read()).jobs.some((job) => jobLabel(job) === id);
    offset = await sendNewBytes(logFile, offset, sink);
    if (!live) {
      const { ended } = await findEnded(session.store.paths.history, id);
      sink.end({ exitCode: ended?.exitCode ?? null, ending: ended?.ending ?? null, offset });
      return;
    }
    await session.store.waitForChange({ since, timeoutMs: FOLLOW_POLL_MS, signal });
  }
}

async function sendNewBytes(path: string, from: number, sink: LogSink): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    // Not written yet (a queued job): nothing to send.
    return from;
  }
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let position = from;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      // A read that ends mid-character sends the whole ones and reads the rest again next time.
      const whole = wholeUtf8Length(buffer.subarray(0, bytesRead));
      if (whole === 0) return position;
      position += whole;
      sink.chunk(buffer.subarray(0, whole).toString('utf8'), position);
      if (whole < bytesRead && bytesRead < buffer.length) return position;
    }
  } finally {
    await handle.close();
  }
}
