import { describe, expect, it } from 'vitest';
import { NO_BOOKINGS_SOON, renderGpus, renderTop, type TopView } from '../../src/ui/top.js';

const AT = '2026-03-01T12:00:05.000Z';

function view(overrides: Partial<TopView> = {}): TopView {
  return {
    at: AT,
    capacity: { gpus: [0, 1], cpus: [0, 1, 2, 3], memoryMb: 16_384 },
    used: { gpus: [1], cpus: [0], memoryMb: 4096 },
    gpus: [
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        job: null,
        user: null,
        unmanaged: [{ pid: 4242, user: 'bob', memoryMb: 1536 }],
        utilizationPercent: 97,
        memoryUsedMb: 1536,
        memoryTotalMb: 81_559,
      },
      {
        index: 1,
        name: 'NVIDIA H100 80GB HBM3',
        job: '1234',
        user: 'alice',
        unmanaged: [],
        utilizationPercent: null,
        memoryUsedMb: null,
        memoryTotalMb: 81_559,
      },
    ],
    gpuLook: { observedAt: AT, kind: 'ok', reason: null },
    running: [],
    queue: [],
    bookings: [],
    ...overrides,
  };
}

describe('renderTop', () => {
  it('shows each GPU with its job, user, figures and who uses it outside rp', () => {
    expect(renderGpus(view())).toEqual([
      'GPU  NAME                   JOB   USER   UTIL             MEMORY  OUTSIDE RP',
      '  0  NVIDIA H100 80GB HBM3  -     -       97%  1.5 GB of 79.6 GB  unmanaged: bob (pid 4242, 1.5 GB)',
      '  1  NVIDIA H100 80GB HBM3  1234  alice     -       - of 79.6 GB  -',
    ]);
  });

  it('says when nvidia-smi did not answer, rather than showing GPUs as free of others', () => {
    const lines = renderGpus(
      view({
        gpuLook: { observedAt: AT, kind: 'failed', reason: 'nvidia-smi did not answer within 3 s' },
      }),
    );
    expect(lines.at(-1)).toBe(
      'nvidia-smi did not answer (nvidia-smi did not answer within 3 s): processes outside rp are not shown',
    );
  });

  it('draws the whole frame: title, use, GPUs, running, queue and bookings', () => {
    const lines = renderTop(view(), { live: true });
    expect(lines[0]).toMatch(/^rp top · 2026-03-01 \d\d:00:05 · q quits$/);
    expect(lines).toContain('Running (0 jobs)');
    expect(lines).toContain('Queue (0 jobs)');
    expect(lines.at(-2)).toBe('Bookings, next 24 h');
    expect(lines.at(-1)).toBe(NO_BOOKINGS_SOON);
  });

  it('leaves the GPU table out on a host without GPUs', () => {
    const lines = renderTop(
      view({ gpus: [], gpuLook: null, capacity: { gpus: [], cpus: [0], memoryMb: 1024 } }),
    );
    expect(lines.some((line) => line.startsWith('GPU '))).toBe(false);
    expect(lines[2]).toBe('GPUs    none on this host');
  });
});
