import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { HistoryRecord } from '../../src/core/ledger-state.js';
import { appendHistory, monthFile } from '../../src/ledger/history.js';
import { ledgerPaths, type HistoryPaths } from '../../src/ledger/paths.js';
import { listHistory } from '../../src/services/job-history.js';
import { makeTempDir } from '../support/tmp.js';

let rpHome: string;
let paths: HistoryPaths;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-job-history-'));
  await mkdir(ledgerPaths(rpHome).dir, { recursive: true });
  await writeFile(join(rpHome, 'config.json'), '{}');
  paths = ledgerPaths(rpHome).history;
});
afterEach(async () => {
  await cleanup();
});

const NOW = new Date('2026-03-10T12:00:00Z');

function record(id: string, user: string, endedAt: string, extra: Partial<HistoryRecord> = {}) {
  const made: HistoryRecord = {
    id,
    user,
    uid: 1000,
    project: { path: `/home/${user}/proj`, name: 'proj' },
    kind: 'run',
    command: 'python train.py',
    request: { gpus: 1, cpus: 2, memoryMb: 1024 },
    grant: { gpus: [1], cpus: [5, 4], memoryMb: 1024 },
    submittedAt: '2026-01-01T00:00:00Z',
    startedAt: new Date(Date.parse(endedAt) - 90_000).toISOString(),
    endedAt,
    ending: 'exited',
    exitCode: 0,
    ...extra,
  };
  return made;
}

describe('listHistory', () => {
  it('describes each finished job for --json, newest first', async () => {
    await appendHistory(
      paths,
      [
        record('1001', 'alice', '2026-03-09T10:00:00.000Z', { array: { task: 7 }, exitCode: 3 }),
        record('1002', 'alice', '2026-03-09T11:00:00.000Z', {
          ending: 'cancelled',
          grant: undefined,
          startedAt: undefined,
          exitCode: undefined,
        }),
      ],
      { mode: 0o664, now: NOW },
    );

    const jobs = await listHistory(rpHome, { limit: 20, now: NOW });

    expect(jobs).toEqual([
      {
        id: '1002',
        task: null,
        user: 'alice',
        uid: 1000,
        project: 'proj',
        projectPath: '/home/alice/proj',
        activity: null,
        kind: 'run',
        command: 'python train.py',
        ending: 'cancelled',
        exitCode: null,
        request: { gpus: 1, cpus: 2, memoryMb: 1024 },
        grant: null,
        submittedAt: '2026-01-01T00:00:00Z',
        startedAt: null,
        endedAt: '2026-03-09T11:00:00.000Z',
        elapsedMs: null,
        logFile: null,
      },
      expect.objectContaining({
        id: '1001_7',
        task: 7,
        exitCode: 3,
        grant: { gpus: [1], cpus: [4, 5], memoryMb: 1024 },
        elapsedMs: 90_000,
      }),
    ]);
  });

  it('reads the newest months only until it has enough', async () => {
    // Given two of alice's jobs in March, one in February, and a January that cannot be read,
    await appendHistory(
      paths,
      [
        record('1001', 'alice', '2026-02-20T00:00:00Z'),
        record('1002', 'alice', '2026-03-01T00:00:00Z'),
        record('1003', 'bob', '2026-03-02T00:00:00Z'),
        record('1004', 'alice', '2026-03-03T00:00:00Z'),
      ],
      { mode: 0o664, now: NOW },
    );
    await mkdir(monthFile(paths, '2026-01'));

    // Then the two newest of alice come from March alone, and three from March and February,
    const two = await listHistory(rpHome, { user: 'alice', limit: 2, now: NOW });
    expect(two.map((job) => job.id)).toEqual(['1004', '1002']);
    const three = await listHistory(rpHome, { user: 'alice', limit: 3, now: NOW });
    expect(three.map((job) => job.id)).toEqual(['1004', '1002', '1001']);

    // and --since reads only the months from then to now.
    const since = await listHistory(rpHome, {
      since: new Date('2026-02-15T00:00:00Z'),
      limit: 20,
      now: NOW,
    });
    expect(since.map((job) => job.id)).toEqual(['1004', '1003', '1002', '1001']);

    // (asking for more than there is reaches January, which fails, naming the file)
    await expect(listHistory(rpHome, { limit: 20, now: NOW })).rejects.toThrow(
      monthFile(paths, '2026-01'),
    );
  });

  it('says the host is not set up rather than listing nothing', async () => {
    await expect(
      listHistory(join(rpHome, 'elsewhere'), { limit: 20, now: NOW }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});
