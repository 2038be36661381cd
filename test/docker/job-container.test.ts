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

  it('names the granted GPUs by UUID (index where unknown) in the device request and the env', () => {
    const options = toCreateOptions(spec({ gpuDevices: ['GPU-bbbb', '3'] }));
    expect(options.HostConfig!.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['GPU-bbbb', '3'], Capabilities: [['gpu']] },
    ]);
    expect(options.Env).toContain('NVIDIA_VISIBLE_DEVICES=GPU-bbbb,3');
  });

  it('hides every GPU from a job without GPUs, even where the image says NVIDIA_VISIBLE_DEVICES=all', () => {
    // Given Docker's default-runtime nvidia and a CUDA base image (ENV NVIDIA_VISIBLE_DEVICES=all),
    // only the container's own env keeps a 0-GPU job from seeing every GPU.
    const options = toCreateOptions(
      spec({
        grant: { gpus: [], cpus: [0], memoryMb: 512 },
        gpuDevices: [],
        env: { RP_JOB_ID: '1234' },
      }),
    );
    expect(options.Env).toEqual(['RP_JOB_ID=1234', 'NVIDIA_VISIBLE_DEVICES=void']);
    expect(options.HostConfig!.DeviceRequests).toEqual([]);
  });

  it("adds the user's supplementary groups, not repeating the primary gid", () => {
    const options = toCreateOptions(spec({ groups: [27, 1001, 2000] }));
    expect(options.HostConfig!.GroupAdd).toEqual(['27', '2000']);
    expect(toCreateOptions(spec({ groups: [] })).HostConfig!.GroupAdd).toEqual([]);
  });

  it('names the container after the job and its seq, so a reused id never meets a leftover', () => {
    const first = toCreateOptions(spec({ nameSuffix: 'a1b2c3' })).name;
    const again = toCreateOptions(spec({ job: { ...job, seq: 8 }, nameSuffix: 'a1b2c3' })).name;
    expect(first).toBe('rp1234-7-a1b2c3');
    expect(again).not.toBe(first);
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
    expect(options.Tty).toBe(false);
  });

  it('binds a read-only mount with ":ro", so the job cannot change it', () => {
    const options = toCreateOptions(
      spec({
        mounts: [
          { source: '/srv/work/a1/talk.wav', target: '/input/talk.wav', readOnly: true },
          { source: '/home/alice/rp-output/whisper/talk-1234', target: '/output' },
        ],
      }),
    );
    expect(options.HostConfig!.Binds).toEqual([
      '/srv/work/a1/talk.wav:/input/talk.wav:ro',
      '/home/alice/rp-output/whisper/talk-1234:/output',
    ]);
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

  it('labels a detached job so a ledger rebuilt from the container still knows it is detached', () => {
    const foreground = jobFromLabels(toCreateOptions(spec()).Labels!, { id: 'a', name: 'n' });
    expect(foreground?.detached).toBeUndefined();
    const detachedJob = { ...job, detached: { launch: 'm1-ab12.json' } };
    const options = toCreateOptions({ ...spec(), job: detachedJob });
    const rebuilt = jobFromLabels(options.Labels!, { id: 'a', name: 'n' });
    expect(rebuilt?.detached).toEqual({ launch: 'm1-ab12.json' });
  });

  it('tells a limited job its deadline, and labels it so a rebuilt ledger still enforces it', () => {
    const limited = {
      ...job,
      timeLimit: { seconds: 3600, signal: { name: 'SIGUSR1', before: 60 } },
    };
    const deadline = new Date('2026-12-02T13:00:00.000Z');
    const options = toCreateOptions({ ...spec(), job: limited, deadline });
    expect(options.Env).toContain(`RP_DEADLINE=${deadline.getTime() / 1000}`);
    const rebuilt = jobFromLabels(options.Labels!, { id: 'a', name: 'n' });
    expect(rebuilt?.timeLimit).toEqual(limited.timeLimit);
    expect(rebuilt?.deadline).toBe(deadline.toISOString());
    // A job granted in a booking has a deadline and no limit of its own.
    const inBooking = jobFromLabels(toCreateOptions({ ...spec(), deadline }).Labels!, {
      id: 'a',
      name: 'n',
    });
    expect(inBooking?.deadline).toBe(deadline.toISOString());
    expect(toCreateOptions(spec()).Env?.some((entry) => entry.startsWith('RP_DEADLINE='))).toBe(
      false,
    );
  });

  it("records the queue (host directory) it belongs to, so another queue's rebuild ignores it", () => {
    expect(toCreateOptions(spec()).Labels!['rp.home']).toBe('/var/lib/rp');
  });

  it('ignores containers without rp labels', () => {
    expect(jobFromLabels({ maintainer: 'x' }, { id: 'a', name: 'b' })).toBeUndefined();
  });
});
