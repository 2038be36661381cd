import { describe, expect, it } from 'vitest';
import {
  containerIdFromCgroup,
  describeUnmanaged,
  gpusBusyOutsideRp,
  parseComputeApps,
  parseGpuStats,
  unmanagedProcesses,
  type GpuObservation,
} from '../../src/core/gpu-processes.js';
import { LEDGER_VERSION, type LedgerState } from '../../src/core/ledger-state.js';
import { schedule, schedulerPolicyOf, type HostPolicy } from '../../src/core/queue-transitions.js';
import { describeQueue } from '../../src/core/scheduler.js';
import { makeJob } from '../ledger/fixtures/jobs.js';

const UUID_0 = 'GPU-5f1c2a3e-8d4b-4c6a-9e7f-0a1b2c3d4e5f';
const UUID_1 = 'GPU-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CONTAINER = 'a'.repeat(64);
const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('parseComputeApps', () => {
  it('reads the rows the real nvidia-smi prints, with and without memory', () => {
    // Given output as nvidia-smi 590 prints it for `--query-compute-apps=gpu_uuid,pid,used_memory
    // --format=csv,noheader,nounits` on an H200, a MIG instance's row with "[N/A]" memory, and
    // a row it could not read inside a container ("[Insufficient Permissions]")
    const text = [
      'GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9, 10525, 1542',
      'GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9, 10550, 14410',
      'MIG-1b1a6d5c-46a8-5d1b-9b0f-2d0e8a7b4c11, 2056, [N/A]',
      'GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9, [Insufficient Permissions], [Insufficient Permissions]',
      '',
    ].join('\n');
    // Then every readable process is there, and only those
    expect(parseComputeApps(text)).toEqual([
      { gpuUuid: 'GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9', pid: 10525, usedMemoryMb: 1542 },
      { gpuUuid: 'GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9', pid: 10550, usedMemoryMb: 14410 },
      { gpuUuid: 'MIG-1b1a6d5c-46a8-5d1b-9b0f-2d0e8a7b4c11', pid: 2056 },
    ]);
  });

  it('reads nothing from an idle machine (nvidia-smi prints nothing) or a header', () => {
    expect(parseComputeApps('')).toEqual([]);
    expect(parseComputeApps('\n\n')).toEqual([]);
    expect(parseComputeApps('gpu_uuid, pid, used_gpu_memory [MiB]\n')).toEqual([]);
  });
});

describe('parseGpuStats', () => {
  it('reads utilisation and memory, leaving out what the GPU does not report', () => {
    const text = `0, ${UUID_0}, 87, 40123, 81559\n1, ${UUID_1}, [N/A], 0, 81559\n`;
    expect(parseGpuStats(text)).toEqual([
      {
        index: 0,
        uuid: UUID_0,
        utilizationPercent: 87,
        memoryUsedMb: 40123,
        memoryTotalMb: 81559,
      },
      { index: 1, uuid: UUID_1, memoryUsedMb: 0, memoryTotalMb: 81559 },
    ]);
  });
});

describe('containerIdFromCgroup', () => {
  it("finds Docker's container id with either cgroup driver and version", () => {
    expect(containerIdFromCgroup(`0::/system.slice/docker-${CONTAINER}.scope\n`)).toBe(CONTAINER);
    expect(containerIdFromCgroup(`0::/docker/${CONTAINER}\n`)).toBe(CONTAINER);
    expect(
      containerIdFromCgroup(`13:pids:/docker/${CONTAINER}\n12:devices:/docker/${CONTAINER}\n`),
    ).toBe(CONTAINER);
  });

  it('finds none for a process of a login session or a service', () => {
    expect(containerIdFromCgroup('0::/user.slice/user-1000.slice/session-3.scope\n')).toBe(
      undefined,
    );
    expect(containerIdFromCgroup('0::/\n')).toBe(undefined);
  });
});

function observation(processes: GpuObservation['processes']): GpuObservation {
  return { observedAt: NOW.toISOString(), kind: 'ok', processes };
}

const ledger = (jobs: LedgerState['jobs']): LedgerState => ({
  version: LEDGER_VERSION,
  nextSeq: jobs.length + 1,
  jobs,
});

describe('unmanaged processes', () => {
  const rpJob = makeJob({
    id: '1234',
    seq: 1,
    state: 'running',
    grant: { gpus: [0], cpus: [0], memoryMb: 1024 },
    container: { id: CONTAINER, name: 'rp1234' },
  });
  const seen = observation([
    { gpu: 0, gpuUuid: UUID_0, pid: 500, memoryMb: 20_000, uid: 1000, containerId: CONTAINER },
    { gpu: 1, gpuUuid: UUID_1, pid: 4242, memoryMb: 1536, uid: 1001, user: 'bob' },
    { gpu: 1, gpuUuid: UUID_1, pid: 77, uid: 1002, containerId: 'b'.repeat(64) },
    { gpuUuid: 'GPU-not-lent', pid: 9, user: 'carol' },
  ]);

  it("tells rp jobs' processes from others', by the container they run in", () => {
    // Then the job's own process is not listed; a host process and a stranger's container are,
    // and a GPU rp does not lend is none of its business
    expect(unmanagedProcesses(ledger([rpJob]), seen)).toEqual([
      { gpu: 1, pid: 77, user: 'uid 1002', memoryMb: null, containerId: 'b'.repeat(64) },
      { gpu: 1, pid: 4242, user: 'bob', memoryMb: 1536, containerId: null },
    ]);
  });

  it('describes them as `unmanaged: <user> (pid, memory)`', () => {
    expect(describeUnmanaged([{ pid: 4242, user: 'bob', memoryMb: 1536 }])).toBe(
      'unmanaged: bob (pid 4242, 1.5 GB)',
    );
  });

  it('keeps them from the scheduler under "avoid", not under "ignore"', () => {
    expect([...gpusBusyOutsideRp(ledger([rpJob]), seen, 'avoid').keys()]).toEqual([1]);
    expect(gpusBusyOutsideRp(ledger([rpJob]), seen, 'ignore').size).toBe(0);
    // A look that failed says nothing: no GPU is held back by it
    const failed: GpuObservation = { ...seen, kind: 'failed', reason: 'timeout' };
    expect(gpusBusyOutsideRp(ledger([rpJob]), failed).size).toBe(0);
  });
});

describe('scheduling around GPUs busy outside rp', () => {
  const policy = (unmanagedGpus: 'avoid' | 'ignore', look: GpuObservation): HostPolicy => ({
    capacity: {
      gpus: [
        { index: 0, uuid: UUID_0 },
        { index: 1, uuid: UUID_1 },
      ],
      cpus: [0, 1, 2, 3],
      memoryMb: 16_384,
    },
    limits: { default: {}, users: {}, unmanagedGpus },
    gpuObservation: look,
  });
  const busyOne = observation([
    { gpu: 0, gpuUuid: UUID_0, pid: 4242, memoryMb: 1536, uid: 1001, user: 'bob' },
  ]);
  const queued = (gpus: number) =>
    makeJob({ id: '2000', seq: 1, request: { gpus, cpus: 1, memoryMb: 1024 } });

  it('grants the GPU that is free, not the busy one', () => {
    // Given GPU 0 is used by bob's process outside rp, and a 1-GPU job is queued
    const next = schedule(ledger([queued(1)]), policy('avoid', busyOne), NOW).state;
    // Then the job gets GPU 1
    expect(next.jobs[0]?.grant?.gpus).toEqual([1]);
  });

  it('keeps a job waiting while it needs the busy GPU, and says why', () => {
    // Given a 2-GPU job on a 2-GPU host whose GPU 0 is busy outside rp
    const state = ledger([queued(2)]);
    const host = policy('avoid', busyOne);
    // Then it is not granted, and the queue says who holds GPU 0
    expect(schedule(state, host, NOW).state.jobs[0]?.state).toBe('queued');
    const [entry] = describeQueue(
      state,
      host.capacity,
      host.limits,
      NOW,
      schedulerPolicyOf(state, host),
    );
    expect(entry?.waitingFor).toBe(
      '2 GPUs (1 free); GPU 0 busy outside rp (unmanaged: bob (pid 4242, 1.5 GB))',
    );
    // When the process ends and a new look sees the GPU free
    const freed = { ...host, gpuObservation: observation([]) };
    // Then the job is granted both GPUs
    expect(schedule(state, freed, NOW).state.jobs[0]?.grant?.gpus).toEqual([0, 1]);
  });

  it('grants the busy GPU under "ignore"', () => {
    const next = schedule(ledger([queued(2)]), policy('ignore', busyOne), NOW).state;
    expect(next.jobs[0]?.grant?.gpus).toEqual([0, 1]);
  });
});
