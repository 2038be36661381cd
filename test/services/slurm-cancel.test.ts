import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlurmJobRecord } from '../../src/ledger/slurm-jobs.js';
import { cancelSlurmJob } from '../../src/services/backends/slurm-cancel.js';
import { backendJob } from '../support/fake-backend.js';
import { makeTempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('rp-slurm-cancel-'));
});

afterEach(async () => {
  await cleanup();
});

/**
 * A Slurm CLI that records each scancel, failing it when told, with a KillWait of 5 s (none when
 * told), and a store of one job.
 */
function cluster(
  jobDir: string,
  options: { scancelFails?: boolean; killWaitUnknown?: boolean } = {},
) {
  const cancelled: string[][] = [];
  return {
    cancelled,
    cli: {
      scancel: async (ids: string[]): Promise<void> => {
        if (options.scancelFails) throw new Error('scancel: Invalid job id specified');
        cancelled.push(ids);
      },
      killWaitSeconds: async (): Promise<number | undefined> =>
        options.killWaitUnknown ? undefined : 5,
    },
    store: { get: async () => ({ dir: jobDir }) as SlurmJobRecord },
  };
}

describe('cancelling a Slurm job (rp kill)', () => {
  it('Given --grace, When a task is cancelled, Then its grace is in the job folder before the scancel of that task', async () => {
    const slurm = cluster(dir);
    await cancelSlurmJob(slurm, backendJob('1001'), { task: 3, graceSeconds: 3 });
    expect(await readFile(join(dir, 'stop-grace-3'), 'utf8')).toBe('3\n');
    expect(slurm.cancelled).toEqual([['51001_3']]);
  });

  it("Given a grace longer than the cluster's KillWait, When cancelled, Then the outcome says the grace it gets at most", async () => {
    await mkdir(dir, { recursive: true });
    expect(await cancelSlurmJob(cluster(dir), backendJob('1001'), { graceSeconds: 30 })).toEqual({
      graceCutToSeconds: 5,
    });
    // A grace within KillWait, none asked for, or a KillWait that cannot be read: nothing to say
    expect(await cancelSlurmJob(cluster(dir), backendJob('1001'), { graceSeconds: 5 })).toEqual({});
    expect(await cancelSlurmJob(cluster(dir), backendJob('1001'), {})).toEqual({});
    const unknown = cluster(dir, { killWaitUnknown: true });
    expect(await cancelSlurmJob(unknown, backendJob('1001'), { graceSeconds: 30 })).toEqual({});
  });

  it('Given a job folder nobody may write, When cancelled with --grace, Then it is cancelled all the same and the error says so', async () => {
    const slurm = cluster(join(dir, 'gone'));
    await expect(cancelSlurmJob(slurm, backendJob('1001'), { graceSeconds: 0 })).rejects.toThrow(
      /rp1001 was cancelled, but with its own stop grace: cannot write .*stop-grace \(ENOENT\)/,
    );
    expect(slurm.cancelled).toEqual([['51001']]);
  });

  it('Given a scancel that fails, When cancelled with --grace, Then no grace is left to apply at the time limit', async () => {
    await mkdir(dir, { recursive: true });
    const slurm = cluster(dir, { scancelFails: true });
    await expect(cancelSlurmJob(slurm, backendJob('1001'), { graceSeconds: 5 })).rejects.toThrow(
      /Invalid job id/,
    );
    await expect(readFile(join(dir, 'stop-grace'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
