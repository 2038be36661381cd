import { describe, expect, it } from 'vitest';
import { projectResources, STANDARD_RESOURCES } from '../../src/core/project-defaults.js';

const GB = 1024;
const gpuServer = { gpuCount: 8, cpuCount: 128, memoryTotalMb: 1024 * GB };

describe('projectResources', () => {
  it('keeps the standard defaults (1 GPU) on a host that has room for them, with no notes', () => {
    expect(projectResources({}, gpuServer)).toEqual({ ...STANDARD_RESOURCES, notes: [] });
  });

  it('defaults to 0 GPUs on a host without GPUs, and says so', () => {
    const defaults = projectResources({}, { ...gpuServer, gpuCount: 0 });
    expect(defaults.gpus).toBe(0);
    expect(defaults.notes).toEqual([
      'no GPU found on this host: jobs default to 0 GPUs (--gpu N to change)',
    ]);
  });

  it("cuts the cores and the memory to what a small host has, shm to half the job's memory", () => {
    // Given a laptop: no GPU, 2 cores, 8 GB (2 GB of it kept back for the system),
    const defaults = projectResources({}, { gpuCount: 0, cpuCount: 2, memoryTotalMb: 8 * GB });
    // a job asks for no more than the host can ever give it.
    expect(defaults).toMatchObject({ gpus: 0, cpu: 2, memory: 6, docker_shm: '3g' });
    expect(defaults.notes).toContain(
      'this host has 2 CPU cores: jobs default to 2 (--cpu N to change)',
    );
    expect(defaults.notes).toContain(
      'this host has 6 GB of memory for jobs: jobs default to 6 GB (--mem GB to change), 3g shm',
    );
  });

  it('never goes below half a GB of memory, in whole half GBs', () => {
    expect(projectResources({}, { ...gpuServer, memoryTotalMb: 3 * GB })).toMatchObject({
      memory: 1.5,
      docker_shm: '768m',
    });
    expect(projectResources({}, { ...gpuServer, memoryTotalMb: 1 * GB })).toMatchObject({
      memory: 0.5,
      docker_shm: '256m',
    });
  });

  it('lets every flag win over the host', () => {
    const tiny = { gpuCount: 0, cpuCount: 1, memoryTotalMb: 2 * GB };
    expect(projectResources({ gpus: 2, cpu: 8, memory: 32, shm: '8g' }, tiny)).toEqual({
      gpus: 2,
      cpu: 8,
      memory: 32,
      docker_shm: '8g',
      notes: [],
    });
    expect(projectResources({ memory: 4 }, tiny)).toMatchObject({ memory: 4, docker_shm: '4g' });
    expect(projectResources({ shm: '1g' }, tiny).docker_shm).toBe('1g');
  });

  it('uses the standard defaults when the host was not looked at', () => {
    expect(projectResources({}, undefined)).toEqual({ ...STANDARD_RESOURCES, notes: [] });
  });
});
