import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBuildProgress, plainBuildProgress } from '../../src/ui/build-progress.js';

/** A stream that says it is a terminal of the given width and keeps what was written. */
function terminal(columns: number): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let written = '';
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  Object.assign(stream, { isTTY: true, columns, rows: 30 });
  return { stream, text: () => written };
}

async function build(
  progress: Awaited<ReturnType<typeof createBuildProgress>>,
  ok: boolean,
): Promise<void> {
  progress.started('rp/a-b:1234');
  progress.update({ kind: 'step', step: '1/2 FROM base' });
  progress.update({ kind: 'step', step: '2/2 RUN make' });
  progress.update({ kind: 'output', line: 'compiling' });
  await progress.finished('rp/a-b:1234', ok);
}

describe('build progress', () => {
  it('prints every step and output line as plain lines when not on a terminal', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await build(plainBuildProgress(out), true);
    expect(text).toBe(
      'building image rp/a-b:1234\nstep 1/2 FROM base\nstep 2/2 RUN make\n  | compiling\nbuilt rp/a-b:1234\n',
    );
  });

  it('on a terminal, ends with every step ticked and the built image, even right after the last update', async () => {
    const { stream, text } = terminal(100);
    await build(await createBuildProgress({ stream }), true);
    expect(text()).toContain('✓ step 1/2 FROM base');
    expect(text()).toContain('✓ step 2/2 RUN make');
    expect(text().trimEnd().endsWith('built rp/a-b:1234')).toBe(true);
  });

  it('on a terminal, marks the failing step', async () => {
    const { stream, text } = terminal(100);
    await build(await createBuildProgress({ stream }), false);
    expect(text()).toContain('✗ step 2/2 RUN make');
    expect(text()).toContain('build of rp/a-b:1234 failed');
  });

  it('falls back to plain lines on a terminal that reports no width', async () => {
    const { stream, text } = terminal(0);
    await build(await createBuildProgress({ stream }), true);
    expect(text()).toContain('step 2/2 RUN make\n  | compiling\n');
  });

  it('says an unchanged image is up to date', async () => {
    const { stream, text } = terminal(100);
    (await createBuildProgress({ stream })).reused('rp/a-b:1234');
    expect(text()).toBe('image rp/a-b:1234 is up to date\n');
  });
});
