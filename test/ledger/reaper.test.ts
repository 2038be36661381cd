import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobEntry, LedgerState, ProcessRef } from '../../src/core/ledger-state.js';
import { emptyLedger } from '../../src/core/ledger-state.js';
import { manualClock } from '../../src/host/clock.js';
import { isProcessAlive, processRefOf } from '../../src/host/process.js';
import { readHistory } from '../../src/ledger/history.js';
import {
  classifyJob,
  classifyOrphan,
  isSameEntry,
  planReap,
  reapDead,
} from '../../src/ledger/reaper.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';
import { makeJob } from './fixtures/jobs.js';

const container = { id: 'c1', name: 'rp-1001' };

describe('reaper decisions (pure)', () => {
  it('keeps every job whose supervisor lives', () => {
    expect(classifyJob(makeJob({ id: '1001', seq: 1 }), true)).toBe('keep');
    expect(classifyJob(makeJob({ id: '1001', seq: 1, state: 'running', container }), true)).toBe(
      'keep',
    );
  });

  it("reaps a dead supervisor's job that has no container (queued or granted)", () => {
    expect(classifyJob(makeJob({ id: '1001', seq: 1, state: 'queued' }), false)).toBe('reap');
    expect(classifyJob(makeJob({ id: '1001', seq: 1, state: 'granted' }), false)).toBe('reap');
  });

  it("asks Docker about a dead supervisor's job that has a container", () => {
    expect(classifyJob(makeJob({ id: '1001', seq: 1, state: 'running', container }), false)).toBe(
      'ask-docker',
    );
    // Started, but the supervisor died before it could mark the job running.
    expect(classifyJob(makeJob({ id: '1001', seq: 1, state: 'granted', container }), false)).toBe(
      'ask-docker',
    );
    expect(classifyOrphan(true)).toBe('keep');
    expect(classifyOrphan(false)).toBe('reap');
  });

  it('removes only victims that are unchanged since they were judged', () => {
    const dead = makeJob({ id: '1001', seq: 1 });
    const moved = makeJob({ id: '1002', seq: 2 });
    const other = makeJob({ id: '1003', seq: 3 });
    const state: LedgerState = {
      ...emptyLedger(),
      nextSeq: 4,
      jobs: [dead, { ...moved, state: 'granted' }, other],
    };

    const decision = planReap(state, [dead, moved], '2025-01-01T01:00:00.000Z');

    expect(decision.state.jobs.map((job) => job.id)).toEqual(['1002', '1003']);
    expect(decision.result).toEqual([dead]);
    expect(decision.history).toEqual([
      expect.objectContaining({
        id: '1001',
        ending: 'reaped',
        endedAt: '2025-01-01T01:00:00.000Z',
      }),
    ]);
  });

  it('returns the same state object when there is nothing to remove', () => {
    const state: LedgerState = {
      ...emptyLedger(),
      nextSeq: 2,
      jobs: [makeJob({ id: '1001', seq: 1 })],
    };
    const gone = makeJob({ id: '1009', seq: 9 });
    expect(planReap(state, [gone], 'x').state).toBe(state);
  });

  it('treats a new supervisor or container as a different entry', () => {
    const job = makeJob({ id: '1001', seq: 1, state: 'running', container });
    expect(isSameEntry(job, { ...job })).toBe(true);
    expect(isSameEntry(job, { ...job, supervisor: { pid: 1, startTime: '2' } })).toBe(false);
    expect(isSameEntry(job, { ...job, container: { id: 'c2', name: 'x' } })).toBe(false);
    expect(isSameEntry(job, { ...job, seq: 2 })).toBe(false);
  });
});

describe('reapDead with real processes', () => {
  let rpHome: string;
  let cleanup: () => Promise<void>;
  let store: LedgerStore;
  const children: ChildProcess[] = [];
  const clock = manualClock('2025-06-01T12:00:00.000Z');

  beforeEach(async () => {
    ({ dir: rpHome, cleanup } = await makeTempDir('rp-reap-'));
    store = await openLedger({ rpHome, clock, recover: async () => [] });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await cleanup();
  });

  /** A real process to act as a job's supervisor, and its ref. */
  async function startSupervisor(): Promise<{ child: ChildProcess; ref: ProcessRef }> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], {
      stdio: 'ignore',
    });
    children.push(child);
    const ref = child.pid === undefined ? undefined : await processRefOf(child.pid);
    if (!ref) throw new Error('could not start a supervisor process');
    return { child, ref };
  }

  async function kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async function add(job: JobEntry): Promise<void> {
    await store.transact((state) => ({
      state: {
        ...state,
        nextSeq: Math.max(state.nextSeq, job.seq + 1),
        jobs: [...state.jobs, job],
      },
      result: undefined,
    }));
  }

  it('removes a queued job whose supervisor was killed, and keeps a live one', async () => {
    // Given two queued jobs with real supervisors, one of which is then killed
    const doomed = await startSupervisor();
    const alive = await startSupervisor();
    await add(makeJob({ id: '1001', seq: 1, supervisor: doomed.ref }));
    await add(makeJob({ id: '1002', seq: 2, supervisor: alive.ref }));
    await kill(doomed.child);
    const containerIsRunning = vi.fn(async () => true);

    // When any rp process reaps
    const report = await reapDead(store, { isProcessAlive, containerIsRunning, clock });

    // Then only the dead supervisor's job is gone, recorded as reaped; Docker was not asked
    expect(report.reaped.map((job) => job.id)).toEqual(['1001']);
    expect((await store.read()).jobs.map((job) => job.id)).toEqual(['1002']);
    const history = await readHistory(store.paths.history);
    expect(history.records).toEqual([
      expect.objectContaining({
        id: '1001',
        ending: 'reaped',
        endedAt: '2025-06-01T12:00:00.000Z',
      }),
    ]);
    expect(containerIsRunning).not.toHaveBeenCalled();
  });

  it('keeps a running orphan while its container runs, and releases it once it has exited', async () => {
    // Given a running job whose supervisor has died while its container goes on
    const supervisor = await startSupervisor();
    await add(
      makeJob({ id: '1003', seq: 1, state: 'running', supervisor: supervisor.ref, container }),
    );
    await kill(supervisor.child);
    let running = true;
    const containerIsRunning = vi.fn(async () => running);
    const deps = { isProcessAlive, containerIsRunning, clock };

    // When reaping while Docker says the container runs
    const first = await reapDead(store, deps);

    // Then the job keeps its resources
    expect(first.reaped).toEqual([]);
    expect(first.orphansRunning.map((job) => job.id)).toEqual(['1003']);
    expect((await store.read()).jobs.map((job) => job.id)).toEqual(['1003']);
    expect(containerIsRunning).toHaveBeenCalledWith('c1');

    // When the container has exited
    running = false;
    const second = await reapDead(store, deps);

    // Then the job is removed and recorded
    expect(second.reaped.map((job) => job.id)).toEqual(['1003']);
    expect((await store.read()).jobs).toEqual([]);
    expect((await readHistory(store.paths.history)).records).toEqual([
      expect.objectContaining({ id: '1003', ending: 'reaped' }),
    ]);
  });

  it('keeps an orphan whose container cannot be checked', async () => {
    const supervisor = await startSupervisor();
    await add(
      makeJob({ id: '1004', seq: 1, state: 'running', supervisor: supervisor.ref, container }),
    );
    await kill(supervisor.child);
    const warnings: string[] = [];

    const report = await reapDead(store, {
      isProcessAlive,
      containerIsRunning: async () => {
        throw new Error('Docker is not reachable');
      },
      clock,
      warn: (line) => warnings.push(line),
    });

    expect(report.unchecked.map((job) => job.id)).toEqual(['1004']);
    expect((await store.read()).jobs).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining('Docker is not reachable')]);
  });

  it('does not remove an entry that changed after it was judged dead', async () => {
    // Given a job judged dead, which another process changes before the removal runs
    await add(makeJob({ id: '1005', seq: 1, supervisor: { pid: 999_999_999, startTime: '1' } }));
    const report = await reapDead(store, {
      isProcessAlive: async () => {
        await store.transact((state) => ({
          state: {
            ...state,
            jobs: state.jobs.map((job) => ({ ...job, state: 'granted' as const })),
          },
          result: undefined,
        }));
        return false;
      },
      containerIsRunning: async () => false,
      clock,
    });

    expect(report.reaped).toEqual([]);
    expect((await store.read()).jobs).toHaveLength(1);
  });
});
