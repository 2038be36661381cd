import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobEntry, LedgerState, ProcessRef } from '../../src/core/ledger-state.js';
import { emptyLedger } from '../../src/core/ledger-state.js';
import { manualClock } from '../../src/host/clock.js';
import { isProcessAlive, processRefOf } from '../../src/host/process.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { readHistory } from '../../src/ledger/history.js';
import { EngineMismatchError } from '../../src/ledger/engine-id.js';
import {
  classifyJob,
  classifyOrphan,
  CONTAINER_SWEEP_INTERVAL_MS,
  containerSweepDue,
  isSameEntry,
  planContainerRemoval,
  planReap,
  reapDead,
  type JobContainer,
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

  it("records an orphan's end and exit code as Docker reports them, as 'timeout' past its deadline", () => {
    const container = { id: 'c1', name: 'rp1001' };
    const limited = makeJob({
      id: '1001',
      seq: 1,
      state: 'running',
      container,
      timeLimit: { seconds: 60 },
      deadline: '2025-01-01T00:01:00.000Z',
    });
    const early = makeJob({
      id: '1002',
      seq: 2,
      state: 'running',
      container: { ...container, id: 'c2' },
    });
    const state: LedgerState = { ...emptyLedger(), nextSeq: 3, jobs: [limited, early] };
    const ends = new Map([
      ['1001:1', { running: false, finishedAt: '2025-01-01T00:01:02.000Z', exitCode: 137 }],
      ['1002:2', { running: false, finishedAt: '2025-01-01T00:00:30.000Z', exitCode: 0 }],
    ]);

    const decision = planReap(state, [limited, early], '2025-01-01T01:00:00.000Z', ends);

    expect(decision.history).toEqual([
      expect.objectContaining({
        id: '1001',
        ending: 'timeout',
        endedAt: '2025-01-01T00:01:02.000Z',
        exitCode: 137,
      }),
      expect.objectContaining({
        id: '1002',
        ending: 'reaped',
        endedAt: '2025-01-01T00:00:30.000Z',
        exitCode: 0,
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

describe('leftover containers (pure)', () => {
  const live = new Set(['live']);
  /** A job whose supervisor is `live` or `dead` (its command says which, for the predicate). */
  const job = (
    id: string,
    seq: number,
    supervisor: 'live' | 'dead',
    state: JobEntry['state'] = 'granted',
  ) => makeJob({ id, seq, state, command: supervisor });
  const alive = (entry: JobEntry): boolean => live.has(entry.command);
  const box = (
    id: string,
    jobId: string,
    seq: number | undefined,
    state: string,
  ): JobContainer => ({ id, name: `rp${jobId}`, state, job: { id: jobId, seq } });
  const ledger = (...jobs: JobEntry[]): LedgerState => ({ ...emptyLedger(), nextSeq: 100, jobs });
  const removed = (state: LedgerState, containers: JobContainer[]): string[] =>
    planContainerRemoval(state, containers, alive).map((container) => container.id);

  it('removes the created, exited or dead containers of jobs that have left the ledger', () => {
    const containers = [
      box('created', '1001', 1, 'created'),
      box('exited', '1002', 2, 'exited'),
      box('dead', '1003', 3, 'dead'),
    ];
    expect(removed(ledger(), containers)).toEqual(['created', 'exited', 'dead']);
  });

  it('never removes a container that runs (or may run again), whoever it belongs to', () => {
    const containers = ['running', 'restarting', 'paused', 'removing'].map((state) =>
      box(state, '1001', 1, state),
    );
    expect(removed(ledger(), containers)).toEqual([]);
    expect(removed(ledger(job('1001', 1, 'dead', 'running')), containers)).toEqual([]);
  });

  it('keeps the created container of a live granted job: its supervisor is about to start it', () => {
    const state = ledger(job('1001', 1, 'live'));
    expect(removed(state, [box('c', '1001', 1, 'created')])).toEqual([]);
    // Exited, but its live supervisor removes it itself once it has released the job.
    expect(removed(state, [box('c', '1001', 1, 'exited')])).toEqual([]);
  });

  it('removes the containers of a job whose supervisor is dead, unless they run', () => {
    const state = ledger(job('1001', 1, 'dead'));
    expect(removed(state, [box('created', '1001', 1, 'created')])).toEqual(['created']);
    expect(removed(state, [box('exited', '1001', 1, 'exited')])).toEqual(['exited']);
    expect(removed(state, [box('running', '1001', 1, 'running')])).toEqual([]);
  });

  it('matches id and seq: a reused id does not keep an earlier job’s container', () => {
    const state = ledger(job('1001', 7, 'live'));
    expect(
      removed(state, [box('old', '1001', 3, 'exited'), box('new', '1001', 7, 'created')]),
    ).toEqual(['old']);
  });

  it('keeps a container without a seq label while any live job has its id', () => {
    expect(
      removed(ledger(job('1001', 7, 'live')), [box('c', '1001', undefined, 'exited')]),
    ).toEqual([]);
    expect(
      removed(ledger(job('1001', 7, 'dead')), [box('c', '1001', undefined, 'exited')]),
    ).toEqual(['c']);
  });

  it('lists containers after a reap, without a stamp, or once the interval has passed', () => {
    const now = new Date('2025-06-01T12:00:00.000Z');
    const ago = (ms: number) => new Date(now.getTime() - ms);
    expect(containerSweepDue(true, ago(1_000), now)).toBe(true);
    expect(containerSweepDue(false, undefined, now)).toBe(true);
    expect(containerSweepDue(false, ago(1_000), now)).toBe(false);
    expect(containerSweepDue(false, ago(CONTAINER_SWEEP_INTERVAL_MS - 1), now)).toBe(false);
    expect(containerSweepDue(false, ago(CONTAINER_SWEEP_INTERVAL_MS), now)).toBe(true);
    // A stamp from the future (the clock was set back) must not stop listings for good.
    expect(containerSweepDue(false, ago(-60_000), now)).toBe(true);
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
    const containerStatus = vi.fn(async () => ({ running: true }));

    // When any rp process reaps
    const report = await reapDead(store, { isProcessAlive, containerStatus, clock });

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
    expect(containerStatus).not.toHaveBeenCalled();
  });

  it('keeps a running orphan while its container runs, and releases it once it has exited', async () => {
    // Given a running job whose supervisor has died while its container goes on
    const supervisor = await startSupervisor();
    await add(
      makeJob({ id: '1003', seq: 1, state: 'running', supervisor: supervisor.ref, container }),
    );
    await kill(supervisor.child);
    let running = true;
    const containerStatus = vi.fn(async () => ({ running }));
    const deps = { isProcessAlive, containerStatus, clock };

    // When reaping while Docker says the container runs
    const first = await reapDead(store, deps);

    // Then the job keeps its resources
    expect(first.reaped).toEqual([]);
    expect(first.orphansRunning.map((job) => job.id)).toEqual(['1003']);
    expect((await store.read()).jobs.map((job) => job.id)).toEqual(['1003']);
    expect(containerStatus).toHaveBeenCalledWith('c1');

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
      containerStatus: async () => {
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
      containerStatus: async () => ({ running: false }),
      clock,
    });

    expect(report.reaped).toEqual([]);
    expect((await store.read()).jobs).toHaveLength(1);
  });

  /** A stand-in for the queue's containers: what the engine would list, and what was removed. */
  function containers(listed: () => JobContainer[] | Promise<JobContainer[]>) {
    const removed: string[] = [];
    let listings = 0;
    return {
      removed,
      listings: () => listings,
      sweep: {
        list: async () => {
          listings += 1;
          return listed();
        },
        remove: async (id: string) => {
          removed.push(id);
        },
      },
    };
  }
  const noContainerRuns = async () => ({ running: false });

  it("removes the container of a job reaped for a dead supervisor, and no live job's", async () => {
    // Given a granted job whose supervisor died after creating its container, and a live one's
    const dead = await startSupervisor();
    const alive = await startSupervisor();
    await add(makeJob({ id: '1001', seq: 1, state: 'granted', supervisor: dead.ref }));
    await add(makeJob({ id: '1002', seq: 2, state: 'granted', supervisor: alive.ref }));
    await kill(dead.child);
    const docker = containers(() => [
      { id: 'left', name: 'rp1001', state: 'created', job: { id: '1001', seq: 1 } },
      { id: 'live', name: 'rp1002', state: 'created', job: { id: '1002', seq: 2 } },
    ]);

    // When any rp process reaps
    const report = await reapDead(store, {
      isProcessAlive,
      containerStatus: noContainerRuns,
      clock,
      containers: docker.sweep,
    });

    // Then the entry and its never-started container are gone; the live job keeps its own
    expect(report.reaped.map((job) => job.id)).toEqual(['1001']);
    expect(docker.removed).toEqual(['left']);
    expect(report.removedContainers?.map((container) => container.id)).toEqual(['left']);
  });

  it('never reaps a detached job, nor removes its ended container: the host supervisor records it', async () => {
    // Given detached jobs (queued, and running with an exited container) whose submitting
    // process and last supervisor are dead
    const dead = await startSupervisor();
    const detached = { launch: 'a.json' };
    await add(makeJob({ id: '1001', seq: 1, supervisor: dead.ref, detached }));
    await add(
      makeJob({ id: '1002', seq: 2, state: 'running', supervisor: dead.ref, container, detached }),
    );
    await kill(dead.child);
    const docker = containers(() => [
      { id: container.id, name: container.name, state: 'exited', job: { id: '1002', seq: 2 } },
    ]);

    // When any rp process reaps
    const report = await reapDead(store, {
      isProcessAlive,
      containerStatus: noContainerRuns,
      clock,
      containers: docker.sweep,
    });

    // Then both entries stay, and the exited container (which holds the exit code) too
    expect(report.reaped).toEqual([]);
    expect((await store.read()).jobs.map((job) => job.id)).toEqual(['1001', '1002']);
    expect(docker.removed).toEqual([]);
  });

  it('lists containers only when it reaped something or the last listing is old', async () => {
    // Given a ledger whose only job is live
    const alive = await startSupervisor();
    await add(makeJob({ id: '1001', seq: 1, supervisor: alive.ref }));
    const docker = containers(() => []);
    const deps = {
      isProcessAlive,
      containerStatus: noContainerRuns,
      clock,
      containers: docker.sweep,
    };

    // When reaping for the first time on this host, then again soon after
    await reapDead(store, deps);
    clock.advance(CONTAINER_SWEEP_INTERVAL_MS - 1);
    const soon = await reapDead(store, deps);

    // Then Docker is asked once; the second pass does not list
    expect(docker.listings()).toBe(1);
    expect(soon.removedContainers).toBeUndefined();

    // When the interval has passed, or the stamp is unreadable
    clock.advance(1);
    await reapDead(store, deps);
    await writeFile(join(ledgerPaths(rpHome).dir, 'containers-swept'), 'garbage');
    await reapDead(store, deps);

    // Then each pass lists again
    expect(docker.listings()).toBe(3);
  });

  it('judges containers against the ledger as it is after the listing', async () => {
    // Given a job submitted and granted while the listing runs, whose container is then created
    const supervisor = await startSupervisor();
    const docker = containers(async () => {
      await add(makeJob({ id: '1001', seq: 1, state: 'granted', supervisor: supervisor.ref }));
      return [{ id: 'new', name: 'rp1001', state: 'created', job: { id: '1001', seq: 1 } }];
    });

    // When reaping
    const report = await reapDead(store, {
      isProcessAlive,
      containerStatus: noContainerRuns,
      clock,
      containers: docker.sweep,
    });

    // Then the new job's container is left for its supervisor to start
    expect(docker.removed).toEqual([]);
    expect(report.removedContainers).toEqual([]);
  });

  it('reaps nothing when the engine is not the ledger’s', async () => {
    // Given a queued job and a running one, both with dead supervisors
    const supervisor = await startSupervisor();
    await add(
      makeJob({ id: '1001', seq: 1, state: 'running', supervisor: supervisor.ref, container }),
    );
    await add(makeJob({ id: '1002', seq: 2, supervisor: supervisor.ref }));
    await kill(supervisor.child);
    const docker = containers(() => []);

    // When the container check finds this process reaches another engine
    const reaping = reapDead(store, {
      isProcessAlive,
      containerStatus: async () => {
        throw new EngineMismatchError('another engine');
      },
      clock,
      containers: docker.sweep,
    });

    // Then reaping fails with that error, and the ledger and containers are untouched
    await expect(reaping).rejects.toThrow(EngineMismatchError);
    expect((await store.read()).jobs.map((job) => job.id)).toEqual(['1001', '1002']);
    expect(docker.listings()).toBe(0);
  });
});
