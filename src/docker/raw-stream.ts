/**
 * Docker's multiplexed output of a container without a terminal: frames of an 8-byte header
 * (byte 0 the stream, 1 stdout and 2 stderr; bytes 4–7 the payload's length, big-endian) and the
 * payload. Frames arrive cut anywhere across chunks; this splits them back.
 */
const HEADER_BYTES = 8;
const STDERR = 2;

export interface RawStreamSplitter {
  /** Takes the next chunk as it came; writes every whole payload in it to its stream. */
  push(chunk: Buffer): void;
}

export function splitRawStream(
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): RawStreamSplitter {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= HEADER_BYTES) {
        const length = pending.readUInt32BE(4);
        if (pending.length < HEADER_BYTES + length) break;
        const payload = pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
        (pending[0] === STDERR ? stderr : stdout).write(payload);
        pending = pending.subarray(HEADER_BYTES + length);
      }
    },
  };
}
