import { describe, expect, it } from 'vitest';
import type { HostCapacity } from '../../src/core/host-config.js';
import {
  emptyLedger,
  jobLabel,
  toHistoryRecord,
  type JobEntry,
  type LedgerState,
} from '../../src/core/ledger-state.js';
import { parseLedgerText } from '../../src/core/ledger-schema.js';
import {
  enqueue,
  enqueueArray,
  finish,
  type HostPolicy,
  type NewJob,
} from '../../src/core/queue-transitions.js';
import { describeQueue } from '../../src/core/scheduler.js';

const NOW = new Date('2026-12-02T10:00:00.000Z');
const capacity: HostCapacity = { gpus: [], cpus: [0, 1, 2, 3, 4, 5, 6, 7], memoryMb: 64 * 1024 };
const policy: HostPolicy = { capacity, limits: { default: {}, users: {} } };

function newJob(user: string): NewJob {
  return {
    user,
    uid: user === 'alice' ? 1000 : 1001,
    project: { path: `/home/${user}/p`, name: 'p' },
    kind: 'run',
    command: 'train.sh --seed {i}',
    request: { gpus: 0, cpus: 1, memoryMb: 1024 },
    submittedAt: NOW.toISOString(),
    supervisor: { pid: 10, startTime: '1' },
  };
}

const tasks = (indices: number[]) =>
  indices.map((task) => ({ task, command: `train.sh --seed ${task}` }));

/** Always the same id, so the tests read well: 1000 + n. */
const firstId = (n: number) => () => n;

function holding(state: LedgerState, id: string): JobEntry[] {
  return state.jobs.filter((job) => job.id === id && job.state !== 'queued');
}

describe('array submissions (pure)', () => {
  it('queues every task in one transition, sharing one id, each with its seq and command', () => {
    const { state, result } = enqueueArray(
      emptyLedger(),
      newJob('alice'),
      tasks([0, 10, 20]),
      { logFileOf: (id, task) => `/home/alice/p/.rp/logs/p_${id}_${task}.log` },
      policy,
      NOW,
      firstId(234),
    );
    expect(result.map((job) => [jobLabel(job), job.seq, job.command, job.logFile])).toEqual([
      ['1234_0', 1, 'train.sh --seed 0', '/home/alice/p/.rp/logs/p_1234_0.log'],
      ['1234_10', 2, 'train.sh --seed 10', '/home/alice/p/.rp/logs/p_1234_10.log'],
      ['1234_20', 3, 'train.sh --seed 20', '/home/alice/p/.rp/logs/p_1234_20.log'],
    ]);
    expect(state.nextSeq).toBe(4);
    // And the ledger file accepts tasks sharing an id.
    expect(parseLedgerText(JSON.stringify(state)).kind).toBe('ok');
  });

  it('refuses the same task of one id twice, and an id shared with a plain job, as corrupt', () => {
    const { state } = enqueueArray(
      emptyLedger(),
      newJob('alice'),
      tasks([0, 1]),
      {},
      policy,
      NOW,
      firstId(234),
    );
    const [first] = state.jobs as [JobEntry];
    const twice = { ...state, nextSeq: 9, jobs: [...state.jobs, { ...first, seq: 5 }] };
    expect(parseLedgerText(JSON.stringify(twice))).toMatchObject({ kind: 'corrupt' });
    const plain = { ...first, seq: 6 };
    delete plain.array;
    const mixed = { ...state, nextSeq: 9, jobs: [...state.jobs, plain] };
    expect(parseLedgerText(JSON.stringify(mixed))).toMatchObject({ kind: 'corrupt' });
  });

  it('never lets more than N tasks of a %N array hold resources, and grants the next as one ends', () => {
    // Given an array of 6 tasks with %2 on a host with 8 free cores
    let { state } = enqueueArray(
      emptyLedger(),
      newJob('alice'),
      tasks([0, 1, 2, 3, 4, 5]),
      { limit: 2 },
      policy,
      NOW,
      firstId(234),
    );
    // Then only 2 are granted, and the others say why they wait
    expect(holding(state, '1234').map(jobLabel)).toEqual(['1234_0', '1234_1']);
    const queue = describeQueue(state, capacity, policy.limits, NOW);
    expect(queue[0]).toMatchObject({
      status: 'array-limit',
      waitingFor: 'array 1234 runs at most 2 tasks at once (%2)',
    });

    // And another user's job is not held up by the waiting tasks
    const other = enqueue(state, newJob('bob'), policy, NOW, firstId(500));
    expect(other.result.state).toBe('granted');
    state = other.state;

    // When a task ends, exactly one more starts
    const ended = state.jobs.find((job) => jobLabel(job) === '1234_0') as JobEntry;
    state = finish(
      state,
      ended,
      { ending: 'exited', endedAt: NOW.toISOString(), exitCode: 0 },
      policy,
      NOW,
    ).state;
    expect(holding(state, '1234').map(jobLabel)).toEqual(['1234_1', '1234_2']);
  });

  it('keeps the task index in the history line', () => {
    const { result } = enqueueArray(
      emptyLedger(),
      newJob('alice'),
      tasks([7]),
      {},
      policy,
      NOW,
      firstId(234),
    );
    const record = toHistoryRecord(result[0] as JobEntry, {
      ending: 'exited',
      endedAt: NOW.toISOString(),
    });
    expect(record).toMatchObject({ id: '1234', array: { task: 7 } });
  });
});
