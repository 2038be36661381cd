import { finish } from '../../src/core/queue-transitions.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, ExitCode, UsageError, type RpError } from '../../src/core/errors.js';
import {
  describeKillResult,
  killedOutcome,
  killResult,
  parseKillTarget,
  planKill,
  planKills,
  removeStoppedJob,
  type KillRequester,
} from '../../src/core/kill.js';
import { emptyLedger, type JobEntry, type LedgerState } from '../../src/core/ledger-state.js';
import { enqueue, type HostPolicy, type NewJob } from '../../src/core/queue-transitions.js';
import { makeJob } from '../ledger/fixtures/jobs.js';

const policy: HostPolicy = {
  capacity: { gpus: [{ index: 0 }], cpus: [0, 1], memoryMb: 4096 },
  limits: { default: {}, users: {} },
};
const now = new Date('2026-02-01T10:00:00.000Z');
const alice: KillRequester = { name: 'alice', uid: 1000 };
const bob: KillRequester = { name: 'bob', uid: 1001 };
const root: KillRequester = { name: 'root', uid: 0 };
const container = { id: 'c0ffee', name: 'rp1002' };
/** The whole machine: a queued job waits while the running one holds it. */
const request = { gpus: 1, cpus: 2, memoryMb: 1024 };

/** alice's queued 1001 and running 1002 (holding the machine); bob's queued 1003. */
function ledger(): LedgerState {
  return {
    ...emptyLedger(),
    nextSeq: 4,
    jobs: [
      makeJob({ id: '1001', seq: 1, state: 'queued', request }),
      makeJob({
        id: '1002',
        seq: 2,
        state: 'running',
        request,
        grant: { gpus: [0], cpus: [0, 1], memoryMb: 1024 },
        container,
      }),
      makeJob({ id: '1003', seq: 3, state: 'queued', request, user: 'bob', uid: 1001 }),
    ],
  };
}

function thrown(action: () => unknown): RpError {
  try {
    action();
  } catch (error) {
    return error as RpError;
  }
  throw new Error('expected an error, none was thrown');
}

describe('parseKillTarget', () => {
  it('takes pid=1234, a bare 1234 and --pid 1234 alike', () => {
    expect(parseKillTarget({ argument: 'pid=1234' })).toBe('1234');
    expect(parseKillTarget({ argument: '1234' })).toBe('1234');
    expect(parseKillTarget({ pidFlag: '1234' })).toBe('1234');
    expect(parseKillTarget({ argument: 'pid=1234', pidFlag: '1234' })).toBe('1234');
  });

  it.each([
    ['123', /"123" is not a job id/],
    ['12345', /"12345" is not a job id/],
    ['0123', /"0123" is not a job id/],
    ['abcd', /"abcd" is not a job id/],
    ['rp1234', /"rp1234" is not a job id/],
    ['pid=12a4', /"pid=12a4" is not a job id/],
    ['pid=', /"pid=" names no job/],
    ['', /"" names no job/],
  ])('refuses %j as a usage error (exit 2)', (argument, message) => {
    const error = thrown(() => parseKillTarget({ argument }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.message).toMatch(message);
  });

  it('refuses a bad --pid', () => {
    expect(thrown(() => parseKillTarget({ pidFlag: '99' })).message).toMatch(
      /"--pid 99" is not a job id/,
    );
  });

  it('refuses two different ids, and no id at all', () => {
    const twice = thrown(() => parseKillTarget({ argument: '1234', pidFlag: '5678' }));
    expect(twice).toBeInstanceOf(UsageError);
    expect(twice.message).toMatch(/1234.*5678/);
    const none = thrown(() => parseKillTarget({}));
    expect(none).toBeInstanceOf(UsageError);
    expect(none.hint).toContain('rp ps');
  });
});

describe('planKill', () => {
  it("removes the requester's queued job in the same transaction, with history 'killed'", () => {
    const state = ledger();
    const { state: next, result, history } = planKill(state, '1001', alice, policy, now);
    expect(result).toMatchObject({ action: 'removed', job: { id: '1001', state: 'queued' } });
    expect(next.jobs.map((job) => job.id)).toEqual(['1002', '1003']);
    expect(history).toEqual([
      expect.objectContaining({ id: '1001', ending: 'killed', endedAt: now.toISOString() }),
    ]);
    expect(state.jobs).toHaveLength(3);
  });

  it('removes a granted job that has no container yet, and hands its grant on', () => {
    // Given alice's job holding every core and bob's job waiting behind it
    const newJob = (user: string, uid: number): NewJob => ({
      user,
      uid,
      project: { path: `/home/${user}/p`, name: 'p' },
      kind: 'run',
      command: 'train.sh',
      request: { gpus: 0, cpus: 2, memoryMb: 512 },
      submittedAt: now.toISOString(),
      supervisor: { pid: 1, startTime: '1' },
    });
    let counter = 0;
    const random = (max: number): number => counter++ % max;
    const first = enqueue(emptyLedger(), newJob('alice', 1000), policy, now, random);
    const second = enqueue(first.state, newJob('bob', 1001), policy, now, random);
    expect(first.result.state).toBe('granted');
    expect(second.result.state).toBe('queued');

    // When alice kills hers
    const killed = planKill(second.state, first.result.id, alice, policy, now);

    // Then it is gone and bob's job got the cores
    expect(killed.result.action).toBe('removed');
    expect(killed.state.jobs).toEqual([
      expect.objectContaining({ id: second.result.id, state: 'granted' }),
    ]);
    expect(killed.history?.[0]).toMatchObject({ id: first.result.id, ending: 'killed' });
  });

  it('leaves a running job in the ledger, marked as killed, and says to stop its container', () => {
    const state = ledger();
    const decision = planKill(state, '1002', alice, policy, now);
    expect(decision.history ?? []).toEqual([]);
    expect(decision.result).toMatchObject({ action: 'stop', job: { id: '1002' }, container });
    const entry = decision.state.jobs.find((job) => job.id === '1002');
    expect(entry?.state).toBe('running');
    expect(entry?.killedBy).toEqual({ user: alice.name, uid: alice.uid, at: now.toISOString() });
  });

  it("makes the supervisor's finish of a killed job say 'killed', whatever the exit code", () => {
    const marked = planKill(ledger(), '1002', alice, policy, now).state;
    const ended = finish(
      marked,
      { id: '1002', seq: 2 },
      { ending: 'exited', endedAt: now.toISOString(), exitCode: 143 },
      policy,
      now,
    );
    expect(ended.history?.[0]).toMatchObject({ id: '1002', ending: 'killed', exitCode: 143 });
  });

  it("refuses another user's job (exit 3), naming whose it is, and changes nothing", () => {
    const error = thrown(() => planKill(ledger(), '1003', alice, policy, now));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(ExitCode.config);
    expect(error.message).toMatch(/job 1003 is bob's/);
    expect(thrown(() => planKill(ledger(), '1002', bob, policy, now)).message).toMatch(
      /job 1002 is alice's/,
    );
  });

  it('judges ownership by uid, not by name', () => {
    const impostor: KillRequester = { name: 'alice', uid: 4242 };
    expect(thrown(() => planKill(ledger(), '1001', impostor, policy, now))).toBeInstanceOf(
      ConfigError,
    );
  });

  it("lets root kill anyone's job", () => {
    expect(planKill(ledger(), '1003', root, policy, now).result.action).toBe('removed');
    expect(planKill(ledger(), '1002', root, policy, now).result.action).toBe('stop');
  });

  it('says an unknown id is not on this host (exit 3) and points at rp ps', () => {
    const error = thrown(() => planKill(ledger(), '9999', alice, policy, now));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('9999');
    expect(error.hint).toContain('rp ps');
  });
});

describe('removeStoppedJob', () => {
  const running = (): JobEntry => ledger().jobs[1] as JobEntry;

  it("removes the stopped entry with history 'killed' and its exit code", () => {
    const decision = removeStoppedJob(ledger(), running(), killedOutcome(now, 137), policy, now);
    expect(decision.result).toBe(true);
    expect(decision.state.jobs.map((job) => job.id)).toEqual(['1001', '1003']);
    expect(decision.history?.[0]).toMatchObject({ id: '1002', ending: 'killed', exitCode: 137 });
  });

  it('leaves alone an entry already gone, or a new job that reused the id', () => {
    const state = ledger();
    const gone = makeJob({ id: '1009', seq: 9, state: 'running', container });
    expect(removeStoppedJob(state, gone, killedOutcome(now), policy, now)).toEqual({
      state,
      result: false,
    });
    const reused = { ...running(), seq: 1 };
    expect(removeStoppedJob(state, reused, killedOutcome(now), policy, now).state).toBe(state);
  });
});

describe('describeKillResult', () => {
  it('says what was killed, whose and of which project', () => {
    const state = ledger();
    const queued = planKill(state, '1001', alice, policy, now).result;
    expect(describeKillResult(killResult(queued))).toBe('killed queued job 1001 (alice, proj)');
    const stop = planKill(state, '1002', alice, policy, now).result;
    expect(describeKillResult(killResult(stop, { cleanup: 'supervisor' }))).toMatch(
      /^stopped running job 1002 \(alice, proj\); its rp run removed the container/,
    );
    expect(describeKillResult(killResult(stop, { cleanup: 'kill', exitCode: 143 }))).toMatch(
      /^stopped running job 1002 \(alice, proj\) \(exit code 143\); its rp run was gone/,
    );
    expect(killResult(stop, { cleanup: 'kill', exitCode: 143 })).toEqual({
      id: '1002',
      user: 'alice',
      uid: 1000,
      project: 'proj',
      state: 'running',
      action: 'stopped',
      container,
      cleanup: 'kill',
      exitCode: 143,
    });
  });
});

describe('killing arrays', () => {
  /** alice's array 3000: task 0 runs (holding the machine), tasks 1 and 2 wait. */
  function arrayLedger(): LedgerState {
    const task = (n: number, fields: Partial<JobEntry> = {}): JobEntry =>
      makeJob({ id: '3000', seq: n + 1, request, array: { task: n }, ...fields });
    return {
      ...emptyLedger(),
      nextSeq: 4,
      jobs: [
        task(0, {
          state: 'running',
          grant: { gpus: [0], cpus: [0, 1], memoryMb: 1024 },
          container,
        }),
        task(1),
        task(2),
      ],
    };
  }

  it('reads a task as 1234_7, and refuses anything else after the underscore', () => {
    expect(parseKillTarget({ argument: '3000_7' })).toBe('3000_7');
    expect(parseKillTarget({ argument: 'pid=3000_0' })).toBe('3000_0');
    expect(thrown(() => parseKillTarget({ argument: '3000_' })).exitCode).toBe(ExitCode.usage);
    expect(thrown(() => parseKillTarget({ argument: '3000_07' })).exitCode).toBe(ExitCode.usage);
  });

  it('ends every task of an array in one transition: queued ones leave, running ones are stopped', () => {
    const { state, result, history } = planKills(arrayLedger(), '3000', alice, policy, now);
    expect(result.map((plan) => [plan.action, plan.job.array?.task])).toEqual([
      ['stop', 0],
      ['removed', 1],
      ['removed', 2],
    ]);
    // The queued tasks are gone with 'killed' lines; none of them was granted the freed machine.
    expect(state.jobs.map((job) => job.array?.task)).toEqual([0]);
    expect(history?.map((record) => [record.array?.task, record.ending])).toEqual([
      [1, 'killed'],
      [2, 'killed'],
    ]);
  });

  it('ends one task of an array, and says which task does not exist', () => {
    const { state, result } = planKills(arrayLedger(), '3000_2', alice, policy, now);
    expect(result).toEqual([expect.objectContaining({ action: 'removed' })]);
    expect(state.jobs.map((job) => job.array?.task)).toEqual([0, 1]);
    expect(thrown(() => planKills(arrayLedger(), '3000_9', alice, policy, now)).message).toMatch(
      /no job 3000_9/,
    );
    expect(thrown(() => planKills(arrayLedger(), '3000', bob, policy, now))).toBeInstanceOf(
      ConfigError,
    );
  });
});
