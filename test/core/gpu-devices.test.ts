import { describe, expect, it } from 'vitest';
import { gpuDeviceIds } from '../../src/core/gpu-devices.js';

describe('gpuDeviceIds', () => {
  const host = [
    { index: 0, uuid: 'GPU-aaaa' },
    { index: 1, uuid: 'GPU-bbbb' },
    { index: 2 },
    { index: 3, uuid: 'GPU-dddd', name: 'NVIDIA H100' },
  ];

  it('names the granted GPUs by UUID, in grant order', () => {
    expect(gpuDeviceIds([3, 1], host)).toEqual(['GPU-dddd', 'GPU-bbbb']);
  });

  it('falls back to the index of a GPU whose UUID is unknown, or that the host does not list', () => {
    expect(gpuDeviceIds([2, 5], host)).toEqual(['2', '5']);
  });

  it('is empty for a job without GPUs', () => {
    expect(gpuDeviceIds([], host)).toEqual([]);
  });
});
