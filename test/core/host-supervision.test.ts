import { describe, expect, it } from 'vitest';
import {
  claimSupervision,
  detachedJobsChanged,
  dutyOf,
  retireSupervision,
  sameProcess,
} from '../../src/core/host-supervision.js';
import { emptyLedger, type LedgerState } from '../../src/core/ledger-state.js';
import { makeJob } from '../ledger/fixtures/jobs.js';

const me = { pid: 200, startTime: '900' };
const dead = { pid: 100, startTime: '500' };
const other = { pid: 300, startTime: '950' };
const detached = { launch: 'x.json' };

describe('host supervisor election (pure)', () => {
  it('elects a candidate when none is recorded', () => {
    const { state, result } = claimSupervision(emptyLedger(), me, undefined);
    expect(result).toBe(true);
    expect(state.hostSupervisor).toEqual(me);
  });

  it('replaces the recorded supervisor only when it is the one judged dead', () => {
    const ledger: LedgerState = { ...emptyLedger(), hostSupervisor: dead };
    expect(claimSupervision(ledger, me, dead).state.hostSupervisor).toEqual(me);
    // Another candidate won between the look and the transaction: judge that one first.
    const taken: LedgerState = { ...emptyLedger(), hostSupervisor: other };
    const lost = claimSupervision(taken, me, dead);
    expect(lost.result).toBe(false);
    expect(lost.state).toBe(taken);
    expect(claimSupervision(taken, me, undefined).result).toBe(false);
  });

  it('is already elected when it is the recorded one', () => {
    const ledger: LedgerState = { ...emptyLedger(), hostSupervisor: me };
    expect(claimSupervision(ledger, me, undefined)).toEqual({ state: ledger, result: true });
  });

  it('tells processes apart by pid, start time and boot', () => {
    expect(sameProcess(me, { ...me })).toBe(true);
    expect(sameProcess(me, { ...me, startTime: '901' })).toBe(false);
    expect(sameProcess(me, { ...me, bootId: 'b' })).toBe(false);
    expect(sameProcess(undefined, undefined)).toBe(true);
    expect(sameProcess(me, undefined)).toBe(false);
  });
});

describe('host supervisor retirement (pure)', () => {
  it('retires only when no detached job is left, clearing the record', () => {
    const busy: LedgerState = {
      ...emptyLedger(),
      nextSeq: 3,
      hostSupervisor: me,
      jobs: [makeJob({ id: '1001', seq: 1 }), makeJob({ id: '1002', seq: 2, detached })],
    };
    expect(retireSupervision(busy, me)).toEqual({ state: busy, result: false });

    // Foreground jobs have processes of their own: they do not keep the supervisor.
    const idle: LedgerState = { ...busy, jobs: [makeJob({ id: '1001', seq: 1 })] };
    const retired = retireSupervision(idle, me);
    expect(retired.result).toBe(true);
    expect(retired.state.hostSupervisor).toBeUndefined();
    expect(retired.state.jobs).toEqual(idle.jobs);
  });

  it('lets a replaced supervisor exit without touching its successor', () => {
    const ledger: LedgerState = {
      ...emptyLedger(),
      nextSeq: 2,
      hostSupervisor: other,
      jobs: [makeJob({ id: '1001', seq: 1, detached })],
    };
    expect(retireSupervision(ledger, me)).toEqual({ state: ledger, result: true });
  });
});

describe('what the supervisor does for a detached job (pure)', () => {
  it('waits for a queued job, starts a granted one and follows one with a container', () => {
    const container = { id: 'c', name: 'rp1001-1-abc' };
    expect(dutyOf(makeJob({ id: '1001', seq: 1, detached }))).toBe('wait');
    expect(dutyOf(makeJob({ id: '1001', seq: 1, state: 'granted', detached }))).toBe('start');
    const running = makeJob({ id: '1001', seq: 1, state: 'running', container, detached });
    expect(dutyOf(running)).toBe('follow');
  });
});

describe("the supervisor's bell (pure)", () => {
  const plain = makeJob({ id: '1001', seq: 1 });
  const queued = makeJob({ id: '1002', seq: 2, detached });
  const ledger: LedgerState = { ...emptyLedger(), nextSeq: 3, jobs: [plain, queued] };

  it('rings when a detached job is queued, granted or ends', () => {
    const added = makeJob({ id: '1003', seq: 3, detached });
    expect(detachedJobsChanged(ledger, { ...ledger, jobs: [plain, queued, added] })).toBe(true);
    const granted = { ...queued, state: 'granted' as const };
    expect(detachedJobsChanged(ledger, { ...ledger, jobs: [plain, granted] })).toBe(true);
    expect(detachedJobsChanged(ledger, { ...ledger, jobs: [plain] })).toBe(true);
  });

  it('stays silent when only foreground jobs change', () => {
    const granted = { ...plain, state: 'granted' as const };
    expect(detachedJobsChanged(ledger, { ...ledger, jobs: [granted, queued] })).toBe(false);
    expect(detachedJobsChanged(ledger, { ...ledger, jobs: [queued] })).toBe(false);
  });
});
