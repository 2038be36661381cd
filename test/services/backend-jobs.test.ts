import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  describeBackendKill,
  killBackendJob,
  listBackendJobs,
  parseJobTarget,
  printBackendLogs,
} from '../../src/services/backend-jobs.js';
import { backendJob, FakeBackend } from '../support/fake-backend.js';

const NOW = new Date('2026-12-02T10:06:00.000Z');

const job = backendJob;

describe('rp ps, rp kill and rp logs for jobs on a backend (fake backend)', () => {
  it('Given a waiting, a running and an array job, When listed, Then one poll gives each its state, reason and backend id', async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [{ phase: 'queued', reason: 'Resources' }]);
    backend.add(job('1002'), [{ phase: 'running' }]);
    backend.add(job('1003', { tasks: [0, 1] }), [{ phase: 'running', task: 0 }]);
    const rows = await listBackendJobs(backend, NOW);
    expect(backend.polls).toEqual([['1001', '1002', '1003']]);
    expect(rows.map((row) => [row.name, row.backendJobId, row.state])).toEqual([
      ['rp1001', '51001', 'queued (waiting for resources)'],
      ['rp1002', '51002', 'running'],
      ['rp1003_0', '51003_0', 'running'],
      ['rp1003_1', '51003_1', 'queued'],
    ]);
    const queued = await listBackendJobs(backend, NOW, { queuedOnly: true });
    expect(queued.map((row) => row.name)).toEqual(['rp1001', 'rp1003_1']);
  });

  it('Given a job that ended long ago, When listed, Then it is no longer shown', async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [{ phase: 'completed', exitCode: 0 }]);
    expect(await listBackendJobs(backend, NOW)).toHaveLength(1);
    const later = new Date(NOW.getTime() + 60 * 60 * 1000);
    expect(await listBackendJobs(backend, later)).toEqual([]);
  });

  it('Given a live job, When killed, Then the backend cancels it; an ended one is only reported', async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [{ phase: 'running' }]);
    backend.add(job('1002'), [{ phase: 'failed', exitCode: 2 }]);
    const live = await killBackendJob(backend, { id: '1001' });
    expect(backend.cancels).toEqual([{ id: '1001' }]);
    expect(describeBackendKill(live!)).toBe('cancelled rp1001 (slurm job 51001, was running)');
    const ended = await killBackendJob(backend, { id: '1002' });
    expect(backend.cancels).toHaveLength(1);
    expect(describeBackendKill(ended!)).toContain('already ended: failed (exit 2)');
    expect(await killBackendJob(backend, { id: '4321' })).toBeUndefined();
  });

  it('Given a grace (rp kill --grace), When a job is killed, Then the backend gets it; without one, none (the job keeps its own)', async () => {
    const backend = new FakeBackend();
    backend.add(job('1004'), [{ phase: 'running' }]);
    backend.add(job('1005'), [{ phase: 'queued' }]);
    await killBackendJob(backend, { id: '1004' }, { graceSeconds: 0 });
    await killBackendJob(backend, { id: '1005' }, {});
    expect(backend.cancels).toEqual([{ id: '1004', graceSeconds: 0 }, { id: '1005' }]);
  });

  it('Given an array, When one task is killed, Then only that task is cancelled; an unknown task is a usage error', async () => {
    const backend = new FakeBackend();
    backend.add(job('1003', { tasks: [0, 1] }), [{ phase: 'running' }]);
    await killBackendJob(backend, { id: '1003', task: 1 });
    expect(backend.cancels).toEqual([{ id: '1003', task: 1 }]);
    await expect(killBackendJob(backend, { id: '1003', task: 7 })).rejects.toThrow(/no task 7/);
  });

  it('Given a job writing output, When its log is followed, Then everything is printed once and following stops at its end', async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [
      { phase: 'running', output: 'a\n' },
      { phase: 'running', output: 'b\n' },
      { phase: 'completed', exitCode: 0, output: 'c\n' },
    ]);
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const found = await printBackendLogs(backend, {
      target: { id: '1001' },
      follow: true,
      output,
      signal: new AbortController().signal,
      pollMs: 1,
    });
    expect(found).toBe(true);
    expect(text).toBe('a\nb\nc\n');
  });

  it('Given job ids as users write them, When parsed, Then rp1234, 1234 and 1234_7 are understood', () => {
    expect(parseJobTarget('rp1234')).toEqual({ id: '1234' });
    expect(parseJobTarget('1234_7')).toEqual({ id: '1234', task: 7 });
    expect(() => parseJobTarget('12')).toThrow(/not a job id/);
  });
});
