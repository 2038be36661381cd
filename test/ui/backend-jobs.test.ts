import { describe, expect, it } from 'vitest';
import type { BackendJobListing, BackendJobRow } from '../../src/core/backend-job-row.js';
import {
  backendJobsSection,
  renderBackendJobs,
  withBackendJobs,
} from '../../src/ui/backend-jobs.js';

const row: BackendJobRow = {
  id: '1001',
  name: 'rp1001',
  backend: 'slurm',
  backendJobId: '42',
  user: 'alice',
  project: 'proj',
  command: 'train.sh',
  gpus: 1,
  cpus: 2,
  memoryMb: 1024,
  phase: 'queued',
  reason: 'Resources',
  state: 'queued (waiting for resources)',
  submittedAt: '2026-12-02T10:00:00.000Z',
};

const listing: BackendJobListing = { backend: 'slurm', reachedVia: 'ssh login1', rows: [row] };

describe("a cluster's jobs in rp ps and rp queue", () => {
  it('Given a listing, When rendered, Then a titled table names the backend, its id and the state', () => {
    expect(renderBackendJobs(listing)).toEqual([
      'On slurm (1 job, through ssh login1)',
      'NAME    BACKEND  BACKEND ID  USER   PROJECT  REQUEST              STATE                           COMMAND',
      'rp1001  slurm    42          alice  proj     1 GPU, 2 CPUs, 1 GB  queued (waiting for resources)  train.sh',
    ]);
    expect(renderBackendJobs({ ...listing, rows: [] })).toEqual([
      'No jobs on slurm (through ssh login1).',
    ]);
  });

  it('Given no other backend, When the section and the JSON are made, Then neither adds anything', () => {
    expect(backendJobsSection(undefined)).toEqual([]);
    expect(backendJobsSection(listing)[0]).toBe('');
    expect(withBackendJobs({ queue: [] }, undefined)).toEqual({ queue: [] });
    expect(withBackendJobs({ queue: [] }, listing)).toEqual({ queue: [], backendJobs: [row] });
  });
});
