import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localPhase } from '../../src/core/backend-endings.js';
import type { HistoryRecord, JobEntry } from '../../src/core/ledger-state.js';
import { appendHistory } from '../../src/ledger/history.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { openLocalBackend } from '../../src/services/backends/local.js';
import type { HostSession } from '../../src/services/host-session.js';
import { makeTempDir } from '../support/tmp.js';

let rpHome: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-local-backend-'));
  await mkdir(ledgerPaths(rpHome).history.dir, { recursive: true });
});
afterEach(async () => {
  await cleanup();
});

const BASE = {
  user: 'alice',
  uid: 1000,
  project: { path: '/home/alice/proj', name: 'proj' },
  kind: 'run' as const,
  command: 'train.sh',
  request: { gpus: 0, cpus: 1, memoryMb: 512 },
  submittedAt: '2026-12-02T10:00:00.000Z',
};

/** A session whose ledger holds `jobs` (the adapter only reads it) over a real history folder. */
function session(jobs: Array<Partial<JobEntry>>): HostSession {
  return {
    store: { read: async () => ({ jobs }), paths: ledgerPaths(rpHome) },
  } as unknown as HostSession;
}

describe('this machine behind the Backend interface', () => {
  it('Given ledger states and history endings, When mapped, Then they read as Backend phases', () => {
    expect(localPhase({ state: 'queued' })).toBe('queued');
    expect(localPhase({ state: 'granted' })).toBe('queued');
    expect(localPhase({ state: 'running' })).toBe('running');
    expect(localPhase({ ending: 'exited', exitCode: 0 })).toBe('completed');
    expect(localPhase({ ending: 'exited', exitCode: 2 })).toBe('failed');
    expect(localPhase({ ending: 'killed' })).toBe('cancelled');
    expect(localPhase({ ending: 'timeout' })).toBe('timeout');
  });

  it('Given a live job and an ended one, When listed, found, polled and their logs read, Then the ledger and the history answer', async () => {
    const log = join(rpHome, 'ended.log');
    await writeFile(log, 'line 1\nline 2\n');
    const ended: HistoryRecord = {
      ...BASE,
      id: '2002',
      endedAt: '2026-12-02T10:05:00.000Z',
      ending: 'exited',
      exitCode: 3,
      logFile: log,
    };
    await appendHistory(ledgerPaths(rpHome).history, [ended], {
      mode: 0o664,
      now: new Date('2026-12-02T10:05:00.000Z'),
    });
    const backend = openLocalBackend(session([{ ...BASE, id: '1001', state: 'running' }]));

    expect((await backend.list()).map((job) => job.id)).toEqual(['1001']);
    const running = await backend.find('1001');
    const done = await backend.find('2002');
    expect(done).toMatchObject({ backend: 'local', command: 'train.sh' });
    expect(await backend.poll([running!, done!])).toEqual([
      { id: '1001', phase: 'running' },
      { id: '2002', phase: 'failed', exitCode: 3, endedAt: '2026-12-02T10:05:00.000Z' },
    ]);
    const chunk = await backend.readLog(done!, 7);
    expect(chunk.data.toString()).toBe('line 2\n');
    expect(chunk.offset).toBe(14);
    expect(await backend.find('3003')).toBeUndefined();
  });
});
