import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { rawStreamText, splitRawStream } from '../../src/docker/raw-stream.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe("Docker's multiplexed output", () => {
  it('sends each frame to its stream, whole frames and frames cut anywhere alike', () => {
    // Given stdout, stderr and stdout frames, the second one multi-byte
    const bytes = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err é\n'), frame(1, 'out 2\n')]);
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      const out = collect();
      const err = collect();
      const splitter = splitRawStream(out.stream, err.stream);

      // When the bytes arrive in two chunks cut at any byte, header and payload included
      splitter.push(bytes.subarray(0, cut));
      splitter.push(bytes.subarray(cut));

      // Then each stream gets exactly its own text, in order
      expect(out.text(), `cut at ${cut}`).toBe('out 1\nout 2\n');
      expect(err.text(), `cut at ${cut}`).toBe('err é\n');
    }
  });

  it('writes nothing of a frame until all of it has come', () => {
    const out = collect();
    const splitter = splitRawStream(out.stream, collect().stream);
    const whole = frame(1, 'hello');
    splitter.push(whole.subarray(0, whole.length - 1));
    expect(out.text()).toBe('');
    splitter.push(whole.subarray(whole.length - 1));
    expect(out.text()).toBe('hello');
  });
});

describe("the text of a container's whole multiplexed logs", () => {
  it('joins both streams in the order their frames came and leaves out a cut last frame', () => {
    const whole = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err é\n'), frame(1, 'out 2\n')]);
    const cut = frame(1, 'never whole').subarray(0, 12);
    expect(rawStreamText(Buffer.concat([whole, cut]))).toBe('out 1\nerr é\nout 2\n');
  });
});
