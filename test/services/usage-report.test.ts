import { mkdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyLedger, type HistoryRecord, type JobEntry } from '../../src/core/ledger-state.js';
import { appendHistory, monthFile } from '../../src/ledger/history.js';
import { ledgerPaths, type LedgerPaths } from '../../src/ledger/paths.js';
import { usageReport, type ReportSession } from '../../src/services/usage-report.js';
import { makeTempDir } from '../support/tmp.js';

let paths: LedgerPaths;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  let rpHome: string;
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-usage-'));
  paths = ledgerPaths(rpHome);
  await mkdir(paths.dir, { recursive: true });
});
afterEach(async () => {
  await cleanup();
});

const NOW = new Date('2026-03-10T12:00:00Z');

const finished: HistoryRecord = {
  id: '1001',
  user: 'alice',
  uid: 1000,
  project: { path: '/home/alice/proj', name: 'proj' },
  kind: 'run',
  command: 'train',
  request: { gpus: 1, cpus: 2, memoryMb: 1024 },
  grant: { gpus: [0], cpus: [0, 1], memoryMb: 1024 },
  submittedAt: '2026-03-09T00:00:00Z',
  startedAt: '2026-03-09T00:00:00Z',
  endedAt: '2026-03-09T03:00:00Z',
  ending: 'exited',
  exitCode: 1,
};

const running: JobEntry = {
  id: '1002',
  seq: 2,
  user: 'bob',
  uid: 1001,
  project: { path: '/home/bob/proj', name: 'proj' },
  kind: 'run',
  command: 'train',
  request: { gpus: 1, cpus: 1, memoryMb: 1024 },
  state: 'running',
  grant: { gpus: [1], cpus: [2], memoryMb: 1024 },
  submittedAt: '2026-03-10T10:00:00Z',
  startedAt: '2026-03-10T11:00:00Z',
  supervisor: { pid: 1, startTime: '1' },
};

describe('usageReport', () => {
  it("sums the window's months of history with the jobs running now, reaping first", async () => {
    // Given a finished job of alice in March, bob's job running for an hour, and a January whose
    // file cannot be read (the window does not need it),
    await appendHistory(paths.history, [finished], { mode: 0o664, now: NOW });
    await mkdir(monthFile(paths.history, '2026-01'));
    const calls: string[] = [];
    const session: ReportSession = {
      store: {
        paths,
        read: async () => {
          calls.push('read');
          return { ...emptyLedger(), nextSeq: 3, jobs: [running] };
        },
      },
      reap: async () => {
        calls.push('reap');
        return { reaped: [], orphansRunning: [], unchecked: [] };
      },
    };

    // When alice asks for the last week,
    const report = await usageReport(session, {
      window: { from: new Date('2026-03-03T12:00:00Z'), to: NOW },
      by: 'user',
      viewer: { uid: 1000, everyone: false },
      now: NOW,
    });

    // Then she sees her row (3 GPU-hours of 4, a failure) and everyone's totals.
    expect(calls).toEqual(['reap', 'read']);
    expect(report.rows).toEqual([
      {
        key: 'alice',
        gpuHours: 3,
        cpuHours: 6,
        jobs: 1,
        failed: 1,
        timeouts: 0,
        sharePercent: 75,
        bookedHours: 0,
        bookedIdleHours: 0,
      },
    ]);
    expect(report.total).toMatchObject({ gpuHours: 4, cpuHours: 7, jobs: 2, failed: 1 });
  });
});
