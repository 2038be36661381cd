import { describe, expect, it } from 'vitest';
import type { JobEntry } from '../../src/core/ledger-state.js';
import { toCreateOptions, type JobContainerSpec } from '../../src/docker/job-container.js';
import { jobFromLabels } from '../../src/docker/labels.js';

const job: JobEntry = {
  id: '1234',
  seq: 7,
  user: 'alice',
  uid: 1000,
  project: { path: '/home/alice/mnist', name: 'mnist' },
  kind: 'run',
  command: 'train.sh --lr 3e-4',
  request: { gpus: 2, cpus: 4, memoryMb: 2048 },
  state: 'granted',
  grant: { gpus: [1, 3], cpus: [4, 5, 6, 7], memoryMb: 2048 },
  submittedAt: '2026-01-01T00:00:00.000Z',
  supervisor: { pid: 42, startTime: '99' },
};

function spec(overrides: Partial<JobContainerSpec> = {}): JobContainerSpec {
  return {
    rpHome: '/var/lib/rp',
    job,
    grant: job.grant!,
    image: 'rp/alice-mnist:0123',
    command: ['bash', './train.sh', '--lr', '3e-4'],
    user: { uid: 1000, gid: 1001 },
    workingDir: '/home/alice/mnist',
    mounts: [
      { source: '/home/alice/mnist', target: '/home/alice/mnist' },
      { source: '/data/imagenet', target: '/home/alice/imagenet' },
    ],
    shmBytes: 2 * 1024 ** 3,
    interactive: false,
    ...overrides,
  };
}

describe('toCreateOptions', () => {
  it('pins the granted cores and limits memory with no extra swap', () => {
    const host = toCreateOptions(spec()).HostConfig!;
    expect(host.CpusetCpus).toBe('4,5,6,7');
    expect(host.Memory).toBe(2048 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.ShmSize).toBe(2 * 1024 ** 3);
  });

  it('requests exactly the granted GPUs by id, and none for a job without GPUs', () => {
    expect(toCreateOptions(spec()).HostConfig!.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['1', '3'], Capabilities: [['gpu']] },
    ]);
    const noGpu = toCreateOptions(spec({ grant: { gpus: [], cpus: [0], memoryMb: 512 } }));
    expect(noGpu.HostConfig!.DeviceRequests).toEqual([]);
  });

  it('runs the argument vector as the host uid:gid in the project, without a shell string', () => {
    const options = toCreateOptions(spec());
    expect(options.Cmd).toEqual(['bash', './train.sh', '--lr', '3e-4']);
    expect(options.User).toBe('1000:1001');
    expect(options.WorkingDir).toBe('/home/alice/mnist');
    expect(options.HostConfig!.Binds).toEqual([
      '/home/alice/mnist:/home/alice/mnist',
      '/data/imagenet:/home/alice/imagenet',
    ]);
    expect(options.name).toBe('rp1234');
    expect(options.Tty).toBe(false);
  });

  it('labels the container so the ledger can be rebuilt from it', () => {
    const options = toCreateOptions(spec());
    const rebuilt = jobFromLabels(options.Labels!, { id: 'abc', name: 'rp1234' });
    expect(rebuilt).toMatchObject({
      id: '1234',
      seq: 7,
      user: 'alice',
      uid: 1000,
      project: job.project,
      command: job.command,
      request: job.request,
      grant: job.grant,
      state: 'running',
      supervisor: { pid: 42, startTime: '99' },
      container: { id: 'abc', name: 'rp1234' },
    });
  });

  it("records the queue (host directory) it belongs to, so another queue's rebuild ignores it", () => {
    expect(toCreateOptions(spec()).Labels!['rp.home']).toBe('/var/lib/rp');
  });

  it('ignores containers without rp labels', () => {
    expect(jobFromLabels({ maintainer: 'x' }, { id: 'a', name: 'b' })).toBeUndefined();
  });
});
