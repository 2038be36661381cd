/**
 * A ledger write wakes only the waiters of the jobs it changed (sweeps issue: a deep queue must
 * not wake every waiter on every write). Real files, real fs.watch, a real lock.
 */
import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUPERVISOR_BELL } from '../../src/core/host-supervision.js';
import { changedJobs, emptyLedger, type LedgerState } from '../../src/core/ledger-state.js';
import { manualClock } from '../../src/host/clock.js';
import { bellPath } from '../../src/ledger/job-bells.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';
import { makeJob } from './fixtures/jobs.js';

let rpHome: string;
let cleanup: () => Promise<void>;
let store: LedgerStore;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-bells-'));
  store = await openLedger({
    rpHome,
    clock: manualClock(new Date('2026-12-02T00:00:00Z')),
    recover: async () => [],
  });
});
afterEach(async () => {
  await cleanup();
});

const a = makeJob({ id: '1001', seq: 1 });
const b = makeJob({ id: '1002', seq: 2 });
const withJobs = (state: LedgerState): LedgerState => ({ ...state, nextSeq: 3, jobs: [a, b] });

describe('job bells', () => {
  it('rings the bell of the job a transaction changed, and no other', async () => {
    // Given two queued jobs whose waiters each hang a bell
    await store.transact((state) => ({ state: withJobs(state), result: undefined }));
    await store.bells.hang(a);
    await store.bells.hang(b);
    const sinceA = await store.bells.token(a);
    const sinceB = await store.bells.token(b);
    const wakeA = store.bells.wait(a, { since: sinceA, timeoutMs: 20_000 });

    // When a transaction grants job a only
    await store.transact((state) => ({
      state: {
        ...state,
        jobs: state.jobs.map((job) =>
          job.id === a.id
            ? { ...job, state: 'granted', grant: { gpus: [], cpus: [0], memoryMb: 1 } }
            : job,
        ),
      },
      result: undefined,
    }));

    // Then a's waiter wakes, and b's bell has not rung
    expect(await wakeA).toBe('changed');
    expect(await store.bells.token(b)).toBe(sinceB);
    expect(await store.bells.wait(b, { since: sinceB, timeoutMs: 300 })).toBe('timeout');
  });

  it('rings for a job that left the ledger (killed, finished), and never makes a bell', async () => {
    await store.transact((state) => ({ state: withJobs(state), result: undefined }));
    await store.bells.hang(b);
    const since = await store.bells.token(b);
    await store.transact((state) => ({
      state: { ...state, jobs: state.jobs.filter((job) => job.id !== b.id) },
      result: undefined,
    }));
    expect(await store.bells.token(b)).not.toBe(since);
    // a has no waiter: no bell was made for it
    await expect(stat(bellPath(store.paths, a))).rejects.toMatchObject({ code: 'ENOENT' });
    await store.bells.remove(b);
    await expect(stat(bellPath(store.paths, b))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('changedJobs', () => {
  it('names entries that changed or left, not those left alone or added', () => {
    const before = withJobs(emptyLedger());
    const c = makeJob({ id: '1003', seq: 3 });
    const after: LedgerState = {
      ...before,
      jobs: [{ ...a }, { ...b, state: 'granted' }, c],
    };
    expect(changedJobs(before, after)).toEqual([{ id: b.id, seq: b.seq }]);
    expect(changedJobs(before, { ...before, jobs: [a] })).toEqual([{ id: b.id, seq: b.seq }]);
    expect(changedJobs(before, before)).toEqual([]);
  });
});

describe("the host supervisor's bell", () => {
  it('rings when a detached job is queued or granted, and not for a foreground job', async () => {
    // Given the supervisor's bell hanging over a ledger with one foreground job
    await store.transact((state) => ({ state: { ...state, nextSeq: 2, jobs: [a] }, result: 0 }));
    await store.bells.hang(SUPERVISOR_BELL);

    // When the foreground job is granted, the bell stays silent
    let since = await store.bells.token(SUPERVISOR_BELL);
    await store.transact((state) => ({
      state: { ...state, jobs: state.jobs.map((job) => ({ ...job, state: 'granted' as const })) },
      result: 0,
    }));
    expect(await store.bells.token(SUPERVISOR_BELL)).toBe(since);

    // When a detached job is queued, then granted, it rings each time
    const detached = makeJob({ id: '1003', seq: 2, detached: { launch: 'x.json' } });
    since = await store.bells.token(SUPERVISOR_BELL);
    const woken = store.bells.wait(SUPERVISOR_BELL, { since, timeoutMs: 20_000 });
    await store.transact((state) => ({
      state: { ...state, nextSeq: 3, jobs: [...state.jobs, detached] },
      result: 0,
    }));
    expect(await woken).toBe('changed');
    since = await store.bells.token(SUPERVISOR_BELL);
    await store.transact((state) => ({
      state: {
        ...state,
        jobs: state.jobs.map((job) =>
          job.id === '1003' ? { ...job, state: 'granted' as const } : job,
        ),
      },
      result: 0,
    }));
    expect(await store.bells.token(SUPERVISOR_BELL)).not.toBe(since);
  });
});
