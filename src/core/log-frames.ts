/**
 * How a remote job's output travels back to the laptop. The server's hidden `rp remote follow`
 * reads the job's stdout and stderr files from byte offsets and writes frames on its stdout:
 *
 *   o <n>\n<n bytes>     bytes of the job's stdout
 *   e <n>\n<n bytes>     bytes of the job's stderr
 *   x <json>\n           the job has ended: {"ending": "exited", "exitCode": 3}
 *
 * One ssh channel carries both streams without mixing them, and the laptop counts what it wrote
 * of each: after a dropped connection it asks again from exactly those offsets, so no byte is
 * written twice or lost. Pure: the encoder, an incremental decoder, and the exit code on the laptop.
 */
import type { JobEnding } from './ledger-state.js';

export type StreamName = 'stdout' | 'stderr';

export interface JobEnd {
  ending: JobEnding | 'unknown';
  exitCode: number | null;
}

export function encodeChunk(stream: StreamName, bytes: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`${stream === 'stdout' ? 'o' : 'e'} ${bytes.length}\n`),
    bytes,
  ]);
}

export function encodeEnd(end: JobEnd): Buffer {
  return Buffer.from(`x ${JSON.stringify(end)}\n`);
}

export type FrameEvent =
  { type: 'data'; stream: StreamName; bytes: Buffer } | { type: 'end'; end: JobEnd };

/** Thrown on bytes that are not frames: the server runs something else than this rp speaks to. */
export class FrameError extends Error {}

/**
 * Turns the frames' bytes, in chunks cut anywhere, into events. A chunk's payload bytes are handed
 * on as soon as they arrive (a long line is not held back until its frame is complete), so what
 * the laptop wrote is always exactly what it received.
 */
export class FrameDecoder {
  private pending = Buffer.alloc(0);
  /** Payload bytes still expected for the frame being read, and its stream. */
  private remaining = 0;
  private stream: StreamName = 'stdout';
  private ended = false;

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.ended) throw new FrameError('output after the end frame');
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length);
        events.push({ type: 'data', stream: this.stream, bytes: data.subarray(0, take) });
        this.remaining -= take;
        data = data.subarray(take);
        continue;
      }
      const newline = data.indexOf(0x0a);
      if (newline === -1) {
        if (data.length > 4096) throw new FrameError('a frame header without its end');
        this.pending = data;
        break;
      }
      const header = data.subarray(0, newline).toString('utf8');
      data = data.subarray(newline + 1);
      const chunkHeader = /^([oe]) (\d+)$/.exec(header);
      if (chunkHeader) {
        this.stream = chunkHeader[1] === 'o' ? 'stdout' : 'stderr';
        this.remaining = Number(chunkHeader[2]);
        continue;
      }
      if (header.startsWith('x ')) {
        events.push({ type: 'end', end: parseEnd(header.slice(2)) });
        this.ended = true;
        continue;
      }
      throw new FrameError(`not a frame: ${JSON.stringify(header.slice(0, 80))}`);
    }
    return events;
  }
}

function parseEnd(text: string): JobEnd {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError(`not an end frame: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const end = value as Partial<JobEnd> | null;
  if (
    typeof end?.ending !== 'string' ||
    !(end.exitCode === null || typeof end.exitCode === 'number')
  ) {
    throw new FrameError(`not an end frame: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { ending: end.ending, exitCode: end.exitCode };
}

/** Byte offsets into a job's stdout and stderr files: where to resume. */
export interface StreamOffsets {
  stdout: number;
  stderr: number;
}

/**
 * The laptop's exit code for a remote job that ended as `end`, as a local `rp run` would exit: the
 * script's own code, 124 at its time limit. (Ctrl+C on the laptop exits 130 whatever the end.)
 */
export function laptopExitCode(end: JobEnd): number {
  if (end.ending === 'timeout') return 124;
  if (end.exitCode !== null) return end.exitCode;
  // Cancelled or reaped without a code: the job did not run to its end.
  return end.ending === 'exited' ? 0 : 1;
}

/**
 * How long to wait before reconnection attempt `attempt` (1, 2, …): 0.5 s doubling up to 8 s.
 * Undefined once `budgetMs` would be exceeded: time to give up and say how to follow the job.
 */
export function reconnectDelay(
  attempt: number,
  elapsedMs: number,
  budgetMs: number,
): number | undefined {
  const delay = Math.min(500 * 2 ** (attempt - 1), 8000);
  return elapsedMs + delay > budgetMs ? undefined : delay;
}
