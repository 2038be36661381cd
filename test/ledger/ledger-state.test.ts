import { describe, expect, it } from 'vitest';
import {
  allocateJobId,
  emptyLedger,
  jobLabel,
  listedProject,
  removeJob,
  toHistoryRecord,
} from '../../src/core/ledger-state.js';
import { rebuildLedger } from '../../src/ledger/rebuild.js';
import { makeJob } from './fixtures/jobs.js';

/** A random source that always returns `value`. */
const fixed = (value: number) => () => value;

describe('allocateJobId', () => {
  it('returns four digits without a leading zero', () => {
    expect(allocateJobId(new Set(), fixed(0))).toBe('1000');
    expect(allocateJobId(new Set(), fixed(8999))).toBe('9999');
    expect(allocateJobId(new Set(), fixed(3456))).toBe('4456');
  });

  it('skips ids that live jobs use, wrapping around at the top', () => {
    expect(allocateJobId(new Set(['4456', '4457']), fixed(3456))).toBe('4458');
    expect(allocateJobId(new Set(['9999']), fixed(8999))).toBe('1000');
  });

  it('returns undefined only when every id is live', () => {
    const all = new Set(Array.from({ length: 9000 }, (_, index) => String(1000 + index)));
    expect(allocateJobId(all, fixed(17))).toBeUndefined();
    all.delete('1234');
    expect(allocateJobId(all, fixed(17))).toBe('1234');
  });

  it('rejects a random source that breaks its contract', () => {
    expect(() => allocateJobId(new Set(), fixed(9000))).toThrow(RangeError);
    expect(() => allocateJobId(new Set(), fixed(0.5))).toThrow(RangeError);
  });
});

describe('removeJob and toHistoryRecord', () => {
  const job = makeJob({
    id: '2222',
    seq: 4,
    state: 'running',
    grant: { gpus: [1], cpus: [0, 1, 2, 3], memoryMb: 8192 },
    startedAt: '2025-01-01T00:01:00.000Z',
    container: { id: 'abc', name: 'rp-2222' },
  });
  const state = { ...emptyLedger(), nextSeq: 5, jobs: [job] };

  it('removes the job and describes how it ended', () => {
    const removed = removeJob(
      state,
      { id: '2222', seq: 4 },
      {
        ending: 'killed',
        endedAt: '2025-01-01T00:02:00.000Z',
        exitCode: 137,
      },
    );
    expect(removed.state).toEqual({ ...state, jobs: [] });
    expect(removed.record).toEqual({
      id: '2222',
      user: 'alice',
      uid: 1000,
      project: { path: '/home/alice/proj', name: 'proj' },
      kind: 'run',
      command: 'python train.py',
      request: { gpus: 1, cpus: 4, memoryMb: 8192 },
      grant: { gpus: [1], cpus: [0, 1, 2, 3], memoryMb: 8192 },
      submittedAt: '2025-01-01T00:00:00.000Z',
      startedAt: '2025-01-01T00:01:00.000Z',
      endedAt: '2025-01-01T00:02:00.000Z',
      exitCode: 137,
      ending: 'killed',
    });
  });

  it('returns the same state object when the job is not there, so nothing is written', () => {
    const removed = removeJob(state, { id: '9999', seq: 4 }, { ending: 'exited', endedAt: 'x' });
    expect(removed.state).toBe(state);
    expect(removed.record).toBeUndefined();
  });

  it('leaves out what a job never had', () => {
    const record = toHistoryRecord(makeJob({ id: '3333', seq: 1 }), {
      ending: 'reaped',
      endedAt: 'x',
    });
    expect(record).not.toHaveProperty('grant');
    expect(record).not.toHaveProperty('startedAt');
    expect(record).not.toHaveProperty('exitCode');
  });
});

describe('rebuildLedger', () => {
  it('orders recovered jobs by seq and continues the seq after the highest', () => {
    const rebuilt = rebuildLedger([
      makeJob({ id: '2000', seq: 9 }),
      makeJob({ id: '1000', seq: 3 }),
    ]);
    expect(rebuilt.state.jobs.map((job) => job.id)).toEqual(['1000', '2000']);
    expect(rebuilt.state.nextSeq).toBe(10);
    expect(rebuilt.dropped).toEqual([]);
  });

  it('drops invalid and duplicate entries and says so', () => {
    const rebuilt = rebuildLedger([
      makeJob({ id: '2000', seq: 1 }),
      makeJob({ id: '2000', seq: 2 }),
      makeJob({ id: 'not-digits', seq: 3 }),
    ]);
    expect(rebuilt.state.jobs.map((job) => job.seq)).toEqual([1]);
    expect(rebuilt.dropped).toEqual([
      'job 2000 (recovered): duplicate id',
      'job not-digits (recovered): not a valid entry',
    ]);
  });

  it("keeps every task of an array: they share the array's id", () => {
    const rebuilt = rebuildLedger([
      makeJob({ id: '2000', seq: 1, array: { task: 0 } }),
      makeJob({ id: '2000', seq: 2, array: { task: 1 } }),
    ]);
    expect(rebuilt.state.jobs.map((job) => job.seq)).toEqual([1, 2]);
    expect(rebuilt.dropped).toEqual([]);
  });

  it('leaves out what it salvaged when that would make the ledger invalid', () => {
    // A plain job with the id of a recovered array task: "rp kill 2000" would be ambiguous
    const rebuilt = rebuildLedger([makeJob({ id: '2000', seq: 1, array: { task: 0 } })], {
      jobs: [makeJob({ id: '2000', seq: 2 })],
      bookings: [],
    });
    expect(rebuilt.state.jobs.map((job) => job.seq)).toEqual([1]);
    expect(rebuilt.dropped).toContain('everything kept from the unreadable ledger: it clashes');
  });

  it('gives an empty ledger when nothing was recovered', () => {
    expect(rebuildLedger([]).state).toEqual(emptyLedger());
  });
});

describe('how listings name a job', () => {
  it('lists an activity job under its activity, any other under its project', () => {
    expect(
      listedProject({ project: { name: 'whisper-proj' }, activity: { name: 'whisper' } }),
    ).toBe('activity:whisper');
    expect(listedProject({ project: { name: 'mnist' } })).toBe('mnist');
  });

  it('labels a plain job by its id and a task of an array by id_task', () => {
    expect(jobLabel({ id: '1234' })).toBe('1234');
    expect(jobLabel({ id: '1234', array: { task: 7 } })).toBe('1234_7');
  });
});
