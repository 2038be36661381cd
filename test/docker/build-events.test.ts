import { describe, expect, it } from 'vitest';
import {
  emptyBuildLog,
  readBuildEvent,
  type BuildEvent,
  type BuildUpdate,
} from '../../src/docker/build-events.js';

function readAll(events: BuildEvent[]) {
  let log = emptyBuildLog();
  const updates: BuildUpdate[] = [];
  for (const event of events) {
    const next = readBuildEvent(log, event);
    log = next.log;
    updates.push(...next.updates);
  }
  return { log, updates };
}

describe('readBuildEvent', () => {
  it('tracks the current step and its output, without the builder bookkeeping', () => {
    const { log, updates } = readAll([
      { stream: 'Step 1/3 : FROM base\n' },
      { stream: ' ---> 55fde7416d89\n' },
      { stream: 'Step 2/3 : RUN make\n' },
      { stream: ' ---> Running in abc\n' },
      { stream: 'compiling\nlinking\n' },
      { stream: 'Removing intermediate container abc\n' },
    ]);
    expect(log.step).toBe('2/3 RUN make');
    expect(log.tail).toEqual(['compiling', 'linking']);
    expect(updates).toEqual([
      { kind: 'step', step: '1/3 FROM base' },
      { kind: 'step', step: '2/3 RUN make' },
      { kind: 'output', line: 'compiling' },
      { kind: 'output', line: 'linking' },
    ]);
  });

  it('records an error event even when the stream ends normally (followProgress would call it success)', () => {
    const { log } = readAll([
      { stream: 'Step 3/9 : RUN false\n' },
      { stream: 'oops\n' },
      {
        errorDetail: {
          code: 1,
          message: "The command '/bin/sh -c false' returned a non-zero code: 1",
        },
        error: "The command '/bin/sh -c false' returned a non-zero code: 1",
      },
    ]);
    expect(log.error).toContain('returned a non-zero code: 1');
    expect(log.step).toBe('3/9 RUN false');
    expect(log.tail).toEqual(['oops']);
  });

  it('takes an error given only as `error`', () => {
    expect(readAll([{ error: 'no space left on device' }]).log.error).toBe(
      'no space left on device',
    );
  });

  it('keeps only the last lines of output', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const { log } = readAll([{ stream: 'Step 1/1 : RUN x\n' }, { stream: `${lines}\n` }]);
    expect(log.tail).toHaveLength(20);
    expect(log.tail.at(-1)).toBe('line 49');
  });

  it('keeps the image id from aux events', () => {
    expect(readAll([{ aux: { ID: 'sha256:abc' } }]).log.imageId).toBe('sha256:abc');
  });
});
