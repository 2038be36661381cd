import { describe, expect, it } from 'vitest';
import { formatLocalTime, noHistoryLine, renderHistory } from '../../src/ui/history-table.js';

// Start times are shown in local time; the expectations use the same local time.
const STARTED = '2026-03-05T14:30:00Z';
const local = formatLocalTime(STARTED);

describe('renderHistory', () => {
  it('shows one line per job under the headers', () => {
    const lines = renderHistory([
      {
        id: '1234_7',
        user: 'alice',
        project: 'proj',
        ending: 'exited',
        exitCode: 3,
        request: { gpus: 2, cpus: 8 },
        grant: { gpus: [0, 1], cpus: [0, 1, 2, 3, 4, 5, 6, 7] },
        startedAt: STARTED,
        elapsedMs: 3_723_000,
        command: `python train.py ${'--flag '.repeat(10)}`,
      },
      {
        id: '1235',
        user: 'bob',
        project: 'q',
        ending: 'cancelled',
        exitCode: null,
        request: { gpus: 0, cpus: 1 },
        grant: null,
        startedAt: null,
        elapsedMs: null,
        command: 'true',
      },
    ]);
    expect(lines).toEqual([
      `JOB     USER   PROJECT  ENDING     EXIT  GPUS  CPUS  ${'STARTED'.padEnd(local.length)}  ELAPSED  COMMAND`,
      `1234_7  alice  proj     exited        3  0-1      8  ${local}    1h 2m  python train.py --flag --flag --flag --flag --fla…`,
      `1235    bob    q        cancelled     -  -        -  ${'never'.padEnd(local.length)}        -  true`,
    ]);
  });

  it('says plainly when there is nothing to show', () => {
    expect(noHistoryLine({ user: 'alice' })).toBe('No finished jobs of alice.');
    expect(noHistoryLine({})).toBe('No finished jobs.');
    expect(local).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  });
});
