import { describe, expect, it } from 'vitest';
import type { HostCapacity, UserLimits } from '../../src/core/host-config.js';
import { LEDGER_VERSION, type JobEntry, type LedgerState } from '../../src/core/ledger-state.js';
import type { HostPolicy } from '../../src/core/queue-transitions.js';
import type { ReapReport } from '../../src/ledger/reaper.js';
import {
  buildHostStatus,
  buildQueue,
  elapsedMs,
  hostStatus,
  queueStatus,
  type StatusSession,
} from '../../src/services/job-status.js';

const GB = 1024;
const NOW = new Date('2025-03-01T12:00:00.000Z');
const NO_LIMITS: UserLimits = { default: {}, users: {} };

function capacity(gpus: number, cpus: number, memoryGb: number): HostCapacity {
  return {
    gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'Test GPU' })),
    cpus: Array.from({ length: cpus }, (_, i) => i),
    memoryMb: memoryGb * GB,
  };
}

const POLICY: HostPolicy = { capacity: capacity(2, 8, 64), limits: NO_LIMITS };

function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

function job(fields: Partial<JobEntry> & Pick<JobEntry, 'id' | 'seq' | 'user'>): JobEntry {
  return {
    uid: 1000,
    project: { path: `/home/${fields.user}/proj`, name: 'proj' },
    kind: 'run',
    command: 'train.sh',
    request: { gpus: 1, cpus: 1, memoryMb: GB },
    state: 'queued',
    submittedAt: ago(60_000),
    supervisor: { pid: 100 + fields.seq, startTime: '1' },
    ...fields,
  };
}

function ledger(...jobs: JobEntry[]): LedgerState {
  return { version: LEDGER_VERSION, nextSeq: jobs.length + 1, jobs };
}

/**
 * alice runs one job (GPU 0, cores 0-3, 16 GB, started 3m 12s ago) and waits with another; bob's
 * job was granted 5 s ago (GPU 1, cores 4-5, 8 GB); carol waits. The GPUs are all taken.
 */
const busy = ledger(
  job({
    id: '2002',
    seq: 2,
    user: 'bob',
    project: { path: '/home/bob/nlp', name: 'nlp' },
    request: { gpus: 1, cpus: 2, memoryMb: 8 * GB },
    state: 'granted',
    grant: { gpus: [1], cpus: [5, 4], memoryMb: 8 * GB },
    submittedAt: ago(10_000),
    grantedAt: ago(5_000),
  }),
  job({
    id: '1001',
    seq: 1,
    user: 'alice',
    project: { path: '/home/alice/mnist', name: 'mnist' },
    request: { gpus: 1, cpus: 4, memoryMb: 16 * GB },
    state: 'running',
    grant: { gpus: [0], cpus: [0, 1, 2, 3], memoryMb: 16 * GB },
    submittedAt: ago(200_000),
    grantedAt: ago(193_000),
    startedAt: ago(192_000),
    container: { id: 'c1', name: 'rp1001' },
  }),
  job({
    id: '3003',
    seq: 3,
    user: 'alice',
    request: { gpus: 1, cpus: 2, memoryMb: 8 * GB },
    submittedAt: ago(600_000),
  }),
  job({ id: '4004', seq: 4, user: 'carol', submittedAt: ago(60_000) }),
);

describe('buildHostStatus', () => {
  it('describes an empty host: its capacity, nothing used, nothing running or waiting', () => {
    expect(buildHostStatus(ledger(), POLICY, NOW)).toEqual({
      capacity: { gpus: [0, 1], cpus: [0, 1, 2, 3, 4, 5, 6, 7], memoryMb: 64 * GB },
      used: { gpus: [], cpus: [], memoryMb: 0 },
      gpus: [
        {
          index: 0,
          name: 'Test GPU',
          uuid: null,
          job: null,
          user: null,
          unmanaged: [],
          utilizationPercent: null,
          memoryUsedMb: null,
          memoryTotalMb: null,
        },
        {
          index: 1,
          name: 'Test GPU',
          uuid: null,
          job: null,
          user: null,
          unmanaged: [],
          utilizationPercent: null,
          memoryUsedMb: null,
          memoryTotalMb: null,
        },
      ],
      gpuLook: null,
      running: [],
      queue: [],
    });
  });

  it('adds up what granted and running jobs hold, and nothing of what queued jobs ask for', () => {
    const status = buildHostStatus(busy, POLICY, NOW);
    expect(status.used).toEqual({ gpus: [0, 1], cpus: [0, 1, 2, 3, 4, 5], memoryMb: 24 * GB });
  });

  it('lists running and granted jobs longest-running first, with sorted ids and elapsed time', () => {
    const { running } = buildHostStatus(busy, POLICY, NOW);
    expect(running).toEqual([
      {
        id: '1001',
        name: 'rp1001',
        user: 'alice',
        project: 'mnist',
        projectPath: '/home/alice/mnist',
        activity: null,
        kind: 'run',
        command: 'train.sh',
        backend: 'local',
        state: 'running',
        gpus: [0],
        cpus: [0, 1, 2, 3],
        memoryMb: 16 * GB,
        submittedAt: ago(200_000),
        grantedAt: ago(193_000),
        startedAt: ago(192_000),
        runningMs: 192_000,
        timeLimitSeconds: null,
        deadline: null,
        leftMs: null,
      },
      {
        id: '2002',
        name: 'rp2002',
        user: 'bob',
        project: 'nlp',
        projectPath: '/home/bob/nlp',
        activity: null,
        kind: 'run',
        command: 'train.sh',
        backend: 'local',
        state: 'granted',
        gpus: [1],
        cpus: [4, 5],
        memoryMb: 8 * GB,
        submittedAt: ago(10_000),
        grantedAt: ago(5_000),
        startedAt: null,
        // Not started yet: counted from the grant.
        runningMs: 5_000,
        timeLimitSeconds: null,
        deadline: null,
        leftMs: null,
      },
    ]);
  });

  it("shows each job's time limit and, once it runs, the time it has left", () => {
    const limited = ledger(
      job({
        id: '1001',
        seq: 1,
        user: 'alice',
        state: 'running',
        grant: { gpus: [0], cpus: [0], memoryMb: GB },
        startedAt: ago(60_000),
        timeLimit: { seconds: 3600 },
        deadline: new Date(NOW.getTime() + 3_540_000).toISOString(),
      }),
      job({ id: '2002', seq: 2, user: 'bob', timeLimit: { seconds: 600 } }),
      job({ id: '3003', seq: 3, user: 'carol' }),
    );
    const status = buildHostStatus(limited, POLICY, NOW);
    expect(status.running[0]).toMatchObject({ timeLimitSeconds: 3600, leftMs: 3_540_000 });
    expect(status.queue.map((entry) => entry.timeLimitSeconds)).toEqual([600, null]);
    // Past its deadline (the kill wait runs): nothing left, never a negative amount.
    const late = buildHostStatus(limited, POLICY, new Date(NOW.getTime() + 4_000_000));
    expect(late.running[0]?.leftMs).toBe(0);
  });

  it("lists the queue in the scheduler's order, not in submission order", () => {
    // carol holds nothing and alice half the GPUs, so carol's later job is served first.
    const { queue } = buildHostStatus(busy, POLICY, NOW);
    expect(queue.map((entry) => [entry.position, entry.id, entry.status])).toEqual([
      [1, '4004', 'head'],
      [2, '3003', 'waiting'],
    ]);
    expect(queue[0]).toMatchObject({
      name: 'rp4004',
      user: 'carol',
      project: 'proj',
      request: { gpus: 1, cpus: 1, memoryMb: GB },
      waitingFor: '1 GPU (0 free)',
      submittedAt: ago(60_000),
      waitingMs: 60_000,
    });
    expect(queue[1]?.waitingFor).toBe('1 GPU (0 free); behind job 4004 at the head of the queue');
    expect(queue[1]?.waitingMs).toBe(600_000);
  });

  it('lists a drop-folder job under its activity, running or queued, with its input', () => {
    const activity = { name: 'whisper', input: 'talk.wav' };
    const jobs = ledger(
      job({
        id: '1001',
        seq: 1,
        user: 'alice',
        state: 'running',
        grant: { gpus: [0], cpus: [0], memoryMb: GB },
        startedAt: ago(1000),
        activity,
      }),
      job({ id: '2002', seq: 2, user: 'bob', activity: { name: 'whisper', input: 'b.wav' } }),
    );
    const status = buildHostStatus(jobs, POLICY, NOW);
    expect(status.running[0]).toMatchObject({ project: 'activity:whisper', activity });
    expect(status.queue[0]).toMatchObject({
      project: 'activity:whisper',
      activity: { name: 'whisper', input: 'b.wav' },
    });
  });

  it('is plain JSON: ISO times, null for times a job does not have yet, no undefined', () => {
    const status = buildHostStatus(busy, POLICY, NOW);
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
  });

  it('shows a job the config can no longer serve as unservable, with the reason', () => {
    const state = ledger(
      job({ id: '1001', seq: 1, user: 'alice', request: { gpus: 4, cpus: 1, memoryMb: GB } }),
    );
    const [entry] = buildQueue(state, POLICY, NOW);
    expect(entry?.status).toBe('unservable');
    expect(entry?.waitingFor).toMatch(/^cannot run: .*4 GPUs/);
  });

  it('shows what a user limit holds a job back on', () => {
    const limits: UserLimits = { default: { gpus: 1 }, users: {} };
    const queue = buildQueue(busy, { capacity: capacity(4, 8, 64), limits }, NOW);
    expect(queue.map((entry) => [entry.id, entry.status])).toEqual([
      ['4004', 'starting'],
      ['3003', 'user-limit'],
    ]);
    const entry = queue[1];
    expect(entry?.waitingFor).toContain('user limit: 1 GPU (alice holds 1)');
  });
});

describe('elapsedMs', () => {
  it('counts from an ISO time to now', () => {
    expect(elapsedMs(ago(3_723_000), NOW)).toBe(3_723_000);
  });

  it('never goes negative when the clock went backwards, and reads garbage as 0', () => {
    expect(elapsedMs(new Date(NOW.getTime() + 5_000).toISOString(), NOW)).toBe(0);
    expect(elapsedMs('not a time', NOW)).toBe(0);
  });
});

describe('hostStatus and queueStatus', () => {
  const NOTHING_REAPED: ReapReport = { reaped: [], orphansRunning: [], unchecked: [] };

  /** A session over an in-memory ledger; `reap` may change it, and every call is recorded. */
  function session(state: LedgerState, reap: (s: { state: LedgerState }) => Promise<ReapReport>) {
    const holder = { state };
    const calls: string[] = [];
    const fake: StatusSession = {
      policy: async () => POLICY,
      store: {
        read: async () => {
          calls.push('read');
          return holder.state;
        },
      },
      reap: async () => {
        calls.push('reap');
        return reap(holder);
      },
    };
    return { fake, calls };
  }

  it('reaps before reading, so a dead entry is not listed', async () => {
    const { fake, calls } = session(busy, async (holder) => {
      const dead = holder.state.jobs.filter((entry) => entry.id === '4004');
      holder.state = { ...holder.state, jobs: holder.state.jobs.filter((e) => e.id !== '4004') };
      return { ...NOTHING_REAPED, reaped: dead };
    });
    const status = await hostStatus(fake, NOW);
    expect(calls).toEqual(['reap', 'read']);
    expect(status.queue.map((entry) => entry.id)).toEqual(['3003']);
    expect(status.running.map((entry) => entry.id)).toEqual(['1001', '2002']);
  });

  it('still lists when reaping fails', async () => {
    const { fake, calls } = session(busy, async () => {
      throw new Error('cannot lock the ledger');
    });
    const view = await queueStatus(fake, NOW);
    expect(calls).toEqual(['reap', 'read']);
    expect(view).toEqual({ queue: buildQueue(busy, POLICY, NOW) });
    expect(view.queue).toHaveLength(2);
  });

  it('lets an error reading the ledger through: without it there is nothing to list', async () => {
    const fake: StatusSession = {
      policy: async () => POLICY,
      store: {
        read: async () => {
          throw new Error('unreadable');
        },
      },
      reap: async () => NOTHING_REAPED,
    };
    await expect(hostStatus(fake, NOW)).rejects.toThrow('unreadable');
  });
});

describe('arrays in listings', () => {
  // Array 3000: tasks 0 and 1 run (cores 0 and 1), tasks 2-5 and 7 wait; bob's job waits too.
  const task = (n: number, state: JobEntry['state'], cpu?: number): JobEntry =>
    job({
      id: '3000',
      seq: n + 1,
      user: 'alice',
      command: `train.sh --seed ${n}`,
      request: { gpus: 0, cpus: 1, memoryMb: GB },
      array: { task: n, limit: 2 },
      state,
      ...(cpu === undefined
        ? {}
        : {
            grant: { gpus: [], cpus: [cpu], memoryMb: GB },
            startedAt: ago(1000 * (cpu + 1)),
          }),
    });
  const sweep = ledger(
    task(0, 'running', 0),
    task(1, 'running', 1),
    ...[2, 3, 4, 5, 7].map((n) => task(n, 'queued')),
    job({ id: '4000', seq: 9, user: 'bob', request: { gpus: 0, cpus: 1, memoryMb: GB } }),
  );
  sweep.nextSeq = 10;

  it('shows an array on one line per listing, named by the tasks it stands for', () => {
    const status = buildHostStatus(sweep, POLICY, NOW);
    expect(status.running).toEqual([
      expect.objectContaining({
        id: '3000_[0-1]',
        name: 'rp3000_[0-1]',
        array: { id: '3000', tasks: [0, 1] },
        cpus: [0, 1],
        memoryMb: 2 * GB,
        runningMs: 2000,
      }),
    ]);
    // bob holds nothing, so his job comes first (fair order); the array waits for its own tasks.
    expect(status.queue.map((row) => [row.id, row.waitingFor])).toEqual([
      ['4000', 'nothing: starting'],
      ['3000_[2-5,7]', 'array 3000 runs at most 2 tasks at once (%2)'],
    ]);
    // What is in use is the same either way.
    expect(status.used.cpus).toEqual([0, 1]);
  });

  it('lists every task with --expand, each under the id users type', () => {
    const queue = buildQueue(sweep, POLICY, NOW, { expand: true });
    expect(queue.map((row) => row.id)).toEqual([
      '4000',
      '3000_2',
      '3000_3',
      '3000_4',
      '3000_5',
      '3000_7',
    ]);
    expect(queue[1]).toMatchObject({ name: 'rp3000_2', command: 'train.sh --seed 2' });
  });
});
