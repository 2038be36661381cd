import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HostSession } from '../../src/services/host-session.js';
import {
  killOnItsBackend,
  printLogsFromItsBackend,
  type LocalHost,
} from '../../src/services/job-routing.js';
import { backendJob, FakeBackend } from '../support/fake-backend.js';

const ALICE = { name: 'alice', uid: 1000 };

const job = backendJob;

/** A host whose other backend is `backend`, and which counts how often this machine is opened. */
function hostWith(backend: FakeBackend | undefined): LocalHost & { opened: number } {
  const host = {
    rpHome: '/nonexistent/rp-home',
    opened: 0,
    otherBackend: async () => backend,
    open: async (): Promise<HostSession> => {
      host.opened += 1;
      throw new Error('this machine was opened');
    },
  };
  return host;
}

describe('rp kill and rp logs find the backend that holds the job (fake backend)', () => {
  it("Given a job on the cluster, When killed, Then the cluster cancels it with the grace given, and this machine's ledger and Docker are never opened", async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [{ phase: 'running' }]);
    const host = hostWith(backend);
    const report = await killOnItsBackend(host, '1001', { requester: ALICE, graceSeconds: 5 });
    expect(backend.cancels).toEqual([{ id: '1001', graceSeconds: 5 }]);
    expect(report.lines).toEqual(['cancelled rp1001 (slurm job 51001, was running)']);
    expect(report.json).toMatchObject({ id: '1001', backend: 'slurm', backendJobId: '51001' });
    expect(report.pendingCleanup).toEqual([]);
    expect(host.opened).toBe(0);
  });

  it('Given a job the cluster does not hold, or no cluster, When killed, Then this machine is asked', async () => {
    const backend = new FakeBackend();
    for (const host of [hostWith(backend), hostWith(undefined)]) {
      await expect(killOnItsBackend(host, '2002', { requester: ALICE })).rejects.toThrow(
        'this machine was opened',
      );
      expect(host.opened).toBe(1);
    }
    expect(backend.cancels).toEqual([]);
  });

  it("Given a job on the cluster, When its log is printed, Then it comes from the cluster; another job's from this machine", async () => {
    const backend = new FakeBackend();
    backend.add(job('1001'), [{ phase: 'completed', exitCode: 0, output: 'from the cluster\n' }]);
    await backend.poll([job('1001')]);
    const host = hostWith(backend);
    const output = new PassThrough();
    const options = {
      follow: false,
      output,
      errorOutput: new PassThrough(),
      signal: new AbortController().signal,
    };
    await printLogsFromItsBackend(host, { ...options, jobId: '1001' });
    expect(String(output.read())).toBe('from the cluster\n');
    expect(host.opened).toBe(0);
    await expect(printLogsFromItsBackend(host, { ...options, jobId: '2002' })).rejects.toThrow(
      'this machine was opened',
    );
  });
});
