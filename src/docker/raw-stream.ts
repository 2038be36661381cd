/**
 * Docker's multiplexed output of a container without a terminal: frames of an 8-byte header
 * (byte 0 the stream, 1 stdout and 2 stderr; bytes 4–7 the payload's length, big-endian) and the
 * payload. Frames arrive cut anywhere across chunks; this splits them back.
 */
const HEADER_BYTES = 8;
const STDERR = 2;

type FrameStream = 'stdout' | 'stderr';

/** Hands each whole frame at the start of `bytes` to `onFrame`; returns the incomplete rest. */
function walkFrames(
  bytes: Buffer,
  onFrame: (stream: FrameStream, payload: Buffer) => void,
): Buffer {
  let rest = bytes;
  while (rest.length >= HEADER_BYTES) {
    const length = rest.readUInt32BE(4);
    if (rest.length < HEADER_BYTES + length) break;
    onFrame(
      rest[0] === STDERR ? 'stderr' : 'stdout',
      rest.subarray(HEADER_BYTES, HEADER_BYTES + length),
    );
    rest = rest.subarray(HEADER_BYTES + length);
  }
  return rest;
}

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
      pending = walkFrames(pending, (stream, payload) => {
        (stream === 'stderr' ? stderr : stdout).write(payload);
      });
    },
  };
}

/** Both streams of whole multiplexed output (e.g. a container's logs), in order, as text. */
export function rawStreamText(bytes: Buffer): string {
  const payloads: Buffer[] = [];
  walkFrames(bytes, (_stream, payload) => payloads.push(payload));
  return Buffer.concat(payloads).toString('utf8');
}
