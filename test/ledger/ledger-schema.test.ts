import { describe, expect, it } from 'vitest';
import { parseLedgerText } from '../../src/core/ledger-schema.js';
import { emptyLedger, LEDGER_VERSION } from '../../src/core/ledger-state.js';
import { makeJob } from './fixtures/jobs.js';

describe('parseLedgerText', () => {
  it('accepts a valid ledger', () => {
    const state = { ...emptyLedger(), nextSeq: 3, jobs: [makeJob({ id: '1234', seq: 2 })] };
    expect(parseLedgerText(JSON.stringify(state))).toEqual({ kind: 'ok', state });
  });

  it('reports a ledger from a newer rp as such, even when the rest is unrecognisable', () => {
    const newer = LEDGER_VERSION + 1;
    expect(parseLedgerText(`{"version": ${newer}, "entirely": "different"}`)).toEqual({
      kind: 'future',
      version: newer,
    });
  });

  it('reads a version 1 ledger (no head, no images) as the current version', () => {
    const job = makeJob({ id: '1234', seq: 2 });
    const parsed = parseLedgerText(JSON.stringify({ version: 1, nextSeq: 3, jobs: [job] }));
    expect(parsed).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it('reads a version 2 ledger (no detached jobs, no host supervisor) as the current version', () => {
    const job = makeJob({ id: '1234', seq: 2, image: 'rp/alice-p:0123abcd' });
    const parsed = parseLedgerText(JSON.stringify({ version: 2, nextSeq: 3, jobs: [job] }));
    expect(parsed).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it('reads a version 4 ledger (no bookings) as the current version', () => {
    const job = makeJob({ id: '1234', seq: 2, timeLimit: { seconds: 60 } });
    const parsed = parseLedgerText(JSON.stringify({ version: 4, nextSeq: 3, jobs: [job] }));
    expect(parsed).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it('reads a version 5 ledger (no activities) as the current version', () => {
    const job = makeJob({ id: '1234', seq: 2 });
    const parsed = parseLedgerText(JSON.stringify({ version: 5, nextSeq: 3, jobs: [job] }));
    expect(parsed).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it("keeps a drop-folder job's activity and input", () => {
    const job = makeJob({ id: '1234', seq: 2, activity: { name: 'whisper', input: 'talk.wav' } });
    const text = JSON.stringify({ version: LEDGER_VERSION, nextSeq: 3, jobs: [job] });
    expect(parseLedgerText(text)).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it('keeps bookings, and which booking a job was granted in', () => {
    const job = makeJob({
      id: '1234',
      seq: 2,
      state: 'granted',
      booking: { id: 'b1001', until: '2026-12-03T17:00:00.000Z' },
    });
    const booking = {
      id: 'b1001',
      user: 'alice',
      uid: 1000,
      start: '2026-12-03T09:00:00.000Z',
      end: '2026-12-03T17:00:00.000Z',
      request: { gpus: 2, cpus: 8, memoryMb: 65536 },
      gpuIds: [0, 3],
      createdAt: '2026-12-02T10:00:00.000Z',
    };
    const state = { ...emptyLedger(), nextSeq: 3, jobs: [job], bookings: [booking] };
    expect(parseLedgerText(JSON.stringify(state))).toEqual({ kind: 'ok', state });
  });

  it('reads a version 3 ledger (no time limits) as the current version', () => {
    const job = makeJob({ id: '1234', seq: 2, detached: { launch: 'm1-ab12.json' } });
    const parsed = parseLedgerText(JSON.stringify({ version: 3, nextSeq: 3, jobs: [job] }));
    expect(parsed).toEqual({
      kind: 'ok',
      state: { version: LEDGER_VERSION, nextSeq: 3, jobs: [job] },
    });
  });

  it("keeps a job's time limit, warning signal and deadline", () => {
    const job = makeJob({
      id: '1234',
      seq: 2,
      state: 'running',
      timeLimit: { seconds: 7200, signal: { name: 'SIGUSR1', before: 60 } },
      deadline: '2026-12-02T12:00:00.000Z',
    });
    const state = { ...emptyLedger(), nextSeq: 3, jobs: [job] };
    expect(parseLedgerText(JSON.stringify(state))).toEqual({ kind: 'ok', state });
  });

  it('keeps the host supervisor and which jobs are detached', () => {
    const job = makeJob({ id: '1234', seq: 2, detached: { launch: 'm1-ab12.json' } });
    const state = {
      ...emptyLedger(),
      nextSeq: 3,
      jobs: [job],
      hostSupervisor: { pid: 42, startTime: '1000' },
    };
    expect(parseLedgerText(JSON.stringify(state))).toEqual({ kind: 'ok', state });
    const traversal = { ...state, jobs: [{ ...job, detached: { launch: '../../etc/x' } }] };
    expect(parseLedgerText(JSON.stringify(traversal)).kind).toBe('corrupt');
  });

  it("keeps the recorded head and each job's image", () => {
    const job = makeJob({ id: '1234', seq: 2, image: 'rp/alice-p:0123abcd' });
    const state = { ...emptyLedger(), nextSeq: 3, jobs: [job], head: { id: '1234', seq: 2 } };
    expect(parseLedgerText(JSON.stringify(state))).toEqual({ kind: 'ok', state });
  });

  it.each([
    ['', /empty/],
    ['{"version":1,', /not valid JSON/],
    ['[]', /not a valid ledger/],
    ['{"version":0,"nextSeq":1,"jobs":[]}', /version/],
    ['{"version":"2","nextSeq":1,"jobs":[]}', /version/],
  ])('treats %j as corrupt', (text, reason) => {
    const parsed = parseLedgerText(text);
    expect(parsed.kind).toBe('corrupt');
    expect(parsed.kind === 'corrupt' && parsed.reason).toMatch(reason);
  });

  it('rejects duplicate job ids and a seq at or past nextSeq', () => {
    const job = makeJob({ id: '1234', seq: 1 });
    const duplicate = { ...emptyLedger(), nextSeq: 3, jobs: [job, { ...job, seq: 2 }] };
    expect(parseLedgerText(JSON.stringify(duplicate))).toMatchObject({
      kind: 'corrupt',
      reason: expect.stringMatching(/duplicate job id 1234/),
    });
    const seqTooHigh = { ...emptyLedger(), nextSeq: 1, jobs: [job] };
    expect(parseLedgerText(JSON.stringify(seqTooHigh))).toMatchObject({
      kind: 'corrupt',
      reason: expect.stringMatching(/not below nextSeq/),
    });
  });

  it('rejects a supervisor start time that is not a clock-tick count', () => {
    const bad = {
      ...emptyLedger(),
      nextSeq: 2,
      jobs: [makeJob({ id: '1234', seq: 1, supervisor: { pid: 1, startTime: 'x' } })],
    };
    expect(parseLedgerText(JSON.stringify(bad)).kind).toBe('corrupt');
  });
});
