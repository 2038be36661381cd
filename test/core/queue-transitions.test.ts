import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { HostCapacity, UserLimits } from '../../src/core/host-config.js';
import { emptyLedger, LEDGER_VERSION, type LedgerState } from '../../src/core/ledger-state.js';
import {
  enqueue,
  finish,
  markRunning,
  schedule,
  type HostPolicy,
  type NewJob,
} from '../../src/core/queue-transitions.js';

const capacity: HostCapacity = {
  gpus: [{ index: 0 }, { index: 1 }],
  cpus: [0, 1, 2, 3],
  memoryMb: 8192,
};
const limits: UserLimits = { default: {}, users: {} };
const policy: HostPolicy = { capacity, limits };
const now = new Date('2026-01-01T00:00:00Z');

let counter = 0;
const sequentialRandom = (max: number): number => counter++ % max;

function job(user: string, gpus: number, cpus: number, memoryMb = 1024): NewJob {
  return {
    user,
    uid: 1000,
    project: { path: `/home/${user}/p`, name: 'p' },
    kind: 'run',
    command: 'train.sh',
    request: { gpus, cpus, memoryMb },
    submittedAt: now.toISOString(),
    supervisor: { pid: 1, startTime: '1' },
  };
}

function add(state: LedgerState, newJob: NewJob) {
  return enqueue(state, newJob, policy, now, sequentialRandom);
}

describe('queue transitions', () => {
  it('grants a job that fits at once, with specific GPUs and cores', () => {
    const { state, result } = add(emptyLedger(), job('alice', 1, 2));
    expect(result.state).toBe('granted');
    expect(result.grant).toEqual({ gpus: [0], cpus: [0, 1], memoryMb: 1024 });
    expect(state.nextSeq).toBe(2);
    expect(result.id).toMatch(/^\d{4}$/);
  });

  it("never gives a new job an id another backend's job holds (a Slurm record)", () => {
    // Every id but 4242 is held by a Slurm job of this host.
    const idsElsewhere = new Set<string>();
    for (let id = 1000; id <= 9999; id += 1) if (id !== 4242) idsElsewhere.add(String(id));
    const { result } = enqueue(
      emptyLedger(),
      job('alice', 0, 1),
      { ...policy, idsElsewhere },
      now,
      sequentialRandom,
    );
    expect(result.id).toBe('4242');
  });

  it('queues a job that does not fit and grants it when the holder finishes', () => {
    const first = add(emptyLedger(), job('alice', 2, 4));
    const second = add(first.state, job('bob', 1, 1));
    expect(second.result.state).toBe('queued');
    const finished = finish(
      second.state,
      first.result,
      { ending: 'exited', endedAt: now.toISOString(), exitCode: 0 },
      policy,
      now,
    );
    expect(finished.result).toBe(true);
    expect(finished.history?.[0]).toMatchObject({
      id: first.result.id,
      ending: 'exited',
      exitCode: 0,
    });
    expect(finished.state.jobs).toHaveLength(1);
    expect(finished.state.jobs[0]).toMatchObject({ id: second.result.id, state: 'granted' });
  });

  it('refuses a request larger than the machine before queueing', () => {
    expect(() => add(emptyLedger(), job('alice', 3, 1))).toThrow(ConfigError);
  });

  it('changes nothing (same object, so no write) when there is nothing to schedule', () => {
    const { state } = add(emptyLedger(), job('alice', 1, 1));
    expect(schedule(state, policy, now).state).toBe(state);
  });

  it('marks a granted job running with its container, but not a queued or vanished one', () => {
    const first = add(emptyLedger(), job('alice', 2, 4));
    const second = add(first.state, job('bob', 1, 1));
    const container = { id: 'c1', name: 'rp1' };
    expect(markRunning(second.state, first.result, container, now).result).toMatchObject({
      state: 'running',
      container,
    });
    expect(markRunning(second.state, second.result, container, now).result).toBeUndefined();
    expect(
      markRunning(second.state, { id: '9999', seq: 1 }, container, now).result,
    ).toBeUndefined();
  });

  it("records a job preempted for a booking as 'preempted', whatever its exit code", () => {
    const first = add(emptyLedger(), { ...job('alice', 1, 1), preemptible: true });
    const marked: LedgerState = {
      ...first.state,
      jobs: first.state.jobs.map((entry) => ({
        ...entry,
        preempted: { at: now.toISOString(), booking: 'b1000' },
      })),
    };
    const ended = finish(
      marked,
      first.result,
      { ending: 'exited', endedAt: now.toISOString(), exitCode: 143 },
      policy,
      now,
    );
    expect(ended.history?.[0]).toMatchObject({ ending: 'preempted', exitCode: 143 });
  });

  it('gives a job granted in a booking the earlier of its limit and the booking end as deadline', () => {
    const first = add(emptyLedger(), { ...job('alice', 1, 1), timeLimit: { seconds: 3600 } });
    const inBooking: LedgerState = {
      ...first.state,
      jobs: first.state.jobs.map((entry) => ({
        ...entry,
        booking: { id: 'b1000', until: new Date(now.getTime() + 600_000).toISOString() },
      })),
    };
    const running = markRunning(inBooking, first.result, { id: 'c1', name: 'rp1' }, now);
    expect(running.result?.deadline).toBe(new Date(now.getTime() + 600_000).toISOString());
    const alone = markRunning(first.state, first.result, { id: 'c1', name: 'rp1' }, now);
    expect(alone.result?.deadline).toBe(new Date(now.getTime() + 3_600_000).toISOString());
  });

  it('finishing an unknown job changes nothing', () => {
    const { state } = add(emptyLedger(), job('alice', 1, 1));
    const result = finish(
      state,
      { id: '0000', seq: 1 },
      { ending: 'exited', endedAt: now.toISOString() },
      policy,
      now,
    );
    expect(result.result).toBe(false);
    expect(result.state).toBe(state);
  });

  it('never acts on another submission that got the same id (ids are reused, id+seq never is)', () => {
    // Given alice's job 1000 ended and bob's new job got the same id
    const alice = add(emptyLedger(), job('alice', 1, 1)).result;
    const reused = { ...alice, seq: alice.seq + 5, user: 'bob', uid: 1001 };
    const state: LedgerState = { version: LEDGER_VERSION, nextSeq: reused.seq + 1, jobs: [reused] };
    const container = { id: 'c1', name: 'rp1' };
    // When alice's late process marks, finishes or cancels "its" job
    expect(markRunning(state, alice, container, now)).toEqual({ state, result: undefined });
    const ended = finish(
      state,
      alice,
      { ending: 'exited', endedAt: now.toISOString() },
      policy,
      now,
    );
    // Then bob's job is untouched
    expect(ended.result).toBe(false);
    expect(ended.state).toBe(state);
  });

  it('keeps a queued job the config no longer allows, instead of cancelling it', () => {
    const first = add(emptyLedger(), job('alice', 2, 4));
    const second = add(first.state, job('bob', 1, 1));
    const shrunk: HostPolicy = { ...policy, limits: { default: { gpus: 0 }, users: {} } };
    const finished = finish(
      second.state,
      first.result,
      { ending: 'exited', endedAt: now.toISOString(), exitCode: 0 },
      shrunk,
      now,
    );
    expect(finished.history).toHaveLength(1);
    expect(finished.state.jobs).toEqual([
      expect.objectContaining({ id: second.result.id, state: 'queued' }),
    ]);
  });
});
