import { describe, expect, it } from 'vitest';
import {
  encodeChunk,
  encodeEnd,
  FrameDecoder,
  FrameError,
  laptopExitCode,
  reconnectDelay,
  type FrameEvent,
} from '../../src/core/log-frames.js';

/** What a decoder hands on for `bytes` pushed in pieces of `size`: each stream's text, and the end. */
function decodeInPieces(bytes: Buffer, size: number) {
  const decoder = new FrameDecoder();
  const events: FrameEvent[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    events.push(...decoder.push(bytes.subarray(at, at + size)));
  }
  const text = (stream: string) =>
    Buffer.concat(
      events.flatMap((e) => (e.type === 'data' && e.stream === stream ? [e.bytes] : [])),
    ).toString();
  return {
    stdout: text('stdout'),
    stderr: text('stderr'),
    end: events.find((e) => e.type === 'end'),
  };
}

describe('log frames', () => {
  const frames = Buffer.concat([
    encodeChunk('stdout', Buffer.from('line 1\nline 2\n')),
    encodeChunk('stderr', Buffer.from('warning: é\n')),
    encodeChunk('stdout', Buffer.from('line 3 has\nx 12 inside\n')),
    encodeEnd({ ending: 'exited', exitCode: 3 }),
  ]);

  it.each([1, 2, 3, 7, 64, frames.length])(
    'Given frames cut every %i bytes, When decoded, Then each stream gets its bytes and the end its code',
    (size) => {
      const decoded = decodeInPieces(frames, size);
      expect(decoded.stdout).toBe('line 1\nline 2\nline 3 has\nx 12 inside\n');
      expect(decoded.stderr).toBe('warning: é\n');
      expect(decoded.end).toEqual({ type: 'end', end: { ending: 'exited', exitCode: 3 } });
    },
  );

  it('hands on the start of a long chunk before the rest has arrived', () => {
    const decoder = new FrameDecoder();
    const frame = encodeChunk('stdout', Buffer.from('abcdef'));
    const first = decoder.push(frame.subarray(0, frame.length - 3));
    expect(first).toEqual([{ type: 'data', stream: 'stdout', bytes: Buffer.from('abc') }]);
  });

  it('refuses bytes that are not frames, and anything after the end', () => {
    expect(() => new FrameDecoder().push(Buffer.from('hello world\n'))).toThrow(FrameError);
    const decoder = new FrameDecoder();
    decoder.push(encodeEnd({ ending: 'killed', exitCode: 143 }));
    expect(() => decoder.push(encodeChunk('stdout', Buffer.from('late')))).toThrow(FrameError);
  });

  it('an end frame may carry no exit code (a job cancelled while queued)', () => {
    const decoded = decodeInPieces(encodeEnd({ ending: 'cancelled', exitCode: null }), 5);
    expect(decoded.end).toEqual({ type: 'end', end: { ending: 'cancelled', exitCode: null } });
  });
});

describe('laptopExitCode', () => {
  it.each([
    [{ ending: 'exited', exitCode: 0 }, 0],
    [{ ending: 'exited', exitCode: 7 }, 7],
    [{ ending: 'timeout', exitCode: 143 }, 124],
    [{ ending: 'killed', exitCode: 137 }, 137],
    [{ ending: 'cancelled', exitCode: null }, 1],
  ] as const)('a job that ended %o exits %i on the laptop, as a local rp run', (end, code) => {
    expect(laptopExitCode(end)).toBe(code);
  });
});

describe('reconnectDelay', () => {
  it('doubles from 0.5 s up to 8 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => reconnectDelay(n, 0, 1e9))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('gives up once the next wait would pass the budget', () => {
    expect(reconnectDelay(3, 9_000, 10_000)).toBeUndefined();
    expect(reconnectDelay(1, 0, 0)).toBeUndefined();
    expect(reconnectDelay(1, 0, 500)).toBe(500);
  });
});
