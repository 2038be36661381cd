import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEntry } from '../../src/core/ledger-state.js';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import { connectDocker, type ContainerEngine } from '../../src/docker/engine.js';
import type { JobContainerSpec } from '../../src/docker/job-container.js';
import { containerSpecFor } from '../support/job-containers.js';
import { assertDockerForCi, docker, skipWithoutDocker } from '../support/docker.js';

/**
 * A GPU job cannot start here (no NVIDIA runtime), but Docker accepts the device request at
 * create: the created container's inspect shows exactly what a GPU host would hand the job.
 */
/**
 * Both ways rp talks to Docker: its own HTTP client (what connectDocker uses on a local socket)
 * and dockerode (for an ssh:// or TLS engine). Each has its own job ids (first digits) and host.
 */
const CLIENTS = [
  { client: "rp's HTTP client", connect: connectDocker, digits: ['6', '5', '4'] },
  {
    client: 'dockerode',
    connect: async (): Promise<ContainerEngine> => new DockerodeEngine(),
    digits: ['9', '8', '7'],
  },
] as const;

describe.skipIf(skipWithoutDocker).each(CLIENTS)('job containers through $client', (client) => {
  /** A host directory of this test alone: the labels tie containers to their queue. */
  const HOME = `/tmp/rp-job-container-test-${process.pid}-${client.digits[0]}`;
  const jobId = (which: 0 | 1 | 2): string => `${client.digits[which]}${(process.pid % 900) + 100}`;
  let engine: ContainerEngine;
  const created: string[] = [];

  beforeAll(async () => {
    assertDockerForCi();
    engine = await client.connect();
  });
  afterAll(async () => {
    for (const id of created) await engine.remove(id);
  });

  function spec(
    id: string,
    gpus: number[],
    extra: Partial<JobContainerSpec> & { seq?: number } = {},
  ): JobContainerSpec {
    const { seq = 1, ...overrides } = extra;
    const job: JobEntry = {
      id,
      seq,
      user: 'tester',
      uid: 1000,
      project: { path: '/tmp/rp-gpu-test', name: 'gpu-test' },
      kind: 'run',
      command: 'true',
      request: { gpus: gpus.length, cpus: 1, memoryMb: 256 },
      state: 'granted',
      grant: { gpus, cpus: [0], memoryMb: 256 },
      submittedAt: new Date().toISOString(),
      supervisor: { pid: process.pid, startTime: '0' },
    };
    return containerSpecFor(HOME, job, overrides);
  }

  async function containerEnv(id: string): Promise<string[]> {
    const result = await docker(['inspect', '--format', '{{json .Config.Env}}', id]);
    return JSON.parse(result.stdout) as string[];
  }

  it('carries a device request with exactly the granted GPUs, by UUID where known', async () => {
    const ref = await engine.createJobContainer(
      spec(jobId(0), [1, 3], { gpuDevices: ['GPU-1111', '3'] }),
    );
    created.push(ref.id);
    const state = await engine.inspectContainer(ref.id);
    expect(state?.hostConfig.deviceRequests).toEqual([
      { driver: 'nvidia', deviceIds: ['GPU-1111', '3'], capabilities: [['gpu']] },
    ]);
    expect(await containerEnv(ref.id)).toContain('NVIDIA_VISIBLE_DEVICES=GPU-1111,3');
    expect(state?.hostConfig.cpusetCpus).toBe('0');
    expect(state?.hostConfig.memory).toBe(256 * 1024 * 1024);
    expect(state?.hostConfig.memorySwap).toBe(256 * 1024 * 1024);
    expect(state?.labels['rp.gpus']).toBe('1,3');
  });

  it('carries no device request for a job without GPUs, and hides every GPU from it', async () => {
    const ref = await engine.createJobContainer(
      spec(jobId(1), [], { gpuDevices: [], groups: [1000, 4242] }),
    );
    created.push(ref.id);
    const state = await engine.inspectContainer(ref.id);
    expect(state?.hostConfig.deviceRequests).toEqual([]);
    // With default-runtime nvidia, a CUDA image's NVIDIA_VISIBLE_DEVICES=all would hand it every GPU.
    expect(await containerEnv(ref.id)).toContain('NVIDIA_VISIBLE_DEVICES=void');
    const groups = await docker(['inspect', '--format', '{{json .HostConfig.GroupAdd}}', ref.id]);
    expect(JSON.parse(groups.stdout)).toEqual(['4242']);
  });

  it('is not blocked by a stopped container left over from an earlier job with the same id', async () => {
    // Given a container of job <id> (seq 1) that was never removed,
    const id = jobId(2);
    const leftover = await engine.createJobContainer(spec(id, [], { seq: 1, nameSuffix: 'old' }));
    created.push(leftover.id);
    // a later job that drew the same id gets a container of its own, not a 409 Conflict.
    const next = await engine.createJobContainer(spec(id, [], { seq: 2, nameSuffix: 'new' }));
    created.push(next.id);
    expect(next.name).not.toBe(leftover.name);
    expect(next.name.startsWith(`rp${id}-`)).toBe(true);
  });

  it('is found again from its labels', async () => {
    const jobs = await engine.listJobContainers(HOME);
    const ids = jobs.map((job) => job.container?.id);
    for (const id of created) expect(ids).toContain(id);
    // Another queue on the same engine does not see them.
    const elsewhere = await engine.listJobContainers(`${HOME}-other`);
    for (const id of created) expect(elsewhere.map((job) => job.container?.id)).not.toContain(id);
  });
});
