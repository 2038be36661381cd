/**
 * One view of the host for every process (hardening issue, item 1): a slow nvidia-smi in one
 * user's process, or a config change, never cancels other users' queued jobs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentProcessRef } from '../../src/host/process.js';
import { systemClock } from '../../src/host/clock.js';
import { openLedger } from '../../src/ledger/store.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { FAKE_GPUS, installFakeNvidiaSmi } from '../support/fake-nvidia-smi.js';
import { makeJob } from '../ledger/fixtures/jobs.js';
import { createRpProject, editHostConfig, until, type RpProject } from '../support/rp-project.js';

interface QueuedJson {
  id: string;
  status: string;
  waitingFor: string;
}

describe.skipIf(skipWithoutDocker)('the host policy every process shares (real engine)', () => {
  let project: RpProject;
  let gpuPath: string;
  let hangingPath: string;

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-policy-');
    gpuPath = await installFakeNvidiaSmi(join(project.dir, '.bin-gpus'), { gpus: FAKE_GPUS });
    hangingPath = await installFakeNvidiaSmi(join(project.dir, '.bin-hang'), { hang: true });
    await project.script('true.sh', 'exit 0');
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  const queue = async (): Promise<QueuedJson[]> => {
    const result = await project.rp(['queue', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { queue: QueuedJson[] }).queue;
  };

  it('keeps queued GPU jobs through a hung nvidia-smi and a lowered limit', async () => {
    // Given the host's GPUs were detected once (rp host refresh with nvidia-smi answering)
    const refresh = await project.rp(['host', 'refresh', '--json'], { env: { PATH: gpuPath } });
    expect(refresh.exitCode, refresh.stderr).toBe(0);
    expect(JSON.parse(refresh.stdout).capacity.gpus).toHaveLength(2);
    // and both GPUs are held by a live job, so a 1-GPU job waits in the queue
    const store = await openLedger({
      rpHome: project.rpHome,
      clock: systemClock,
      recover: async () => [],
    });
    const holder = makeJob({
      id: '1111',
      seq: 1,
      state: 'granted',
      // GPUs only, so the cores stay free for the queued job's head reservation and a CPU job.
      request: { gpus: 2, cpus: 1, memoryMb: 256 },
      grant: { gpus: [0, 1], cpus: [], memoryMb: 256 },
      supervisor: await currentProcessRef(),
    });
    await store.transact((state) => ({
      state: { ...state, nextSeq: 2, jobs: [holder] },
      result: undefined,
    }));
    const waiting = project.startRun(['--script=true.sh', '--gpu', '1']);
    const [queued] = await until('the GPU job to be queued', async () => {
      const entries = await queue();
      return entries.length === 1 ? entries : undefined;
    });
    expect(queued?.status).toBe('head');

    // When the config changes (so the next process detects the machine again) and that process
    // runs with an nvidia-smi that hangs (a stuck driver)
    await editHostConfig(project.rpHome, () => undefined);
    const cpuJob = await project.rp(['run', '--script=true.sh', '--gpu', '0'], {
      env: { PATH: hangingPath },
    });
    // Then that job runs, and the GPU job is still queued
    expect(cpuJob.exitCode, cpuJob.stderr).toBe(0);
    expect((await queue()).map((entry) => entry.id)).toEqual([queued?.id]);

    // When an admin lowers the GPU limit below what the queued job asks for
    await editHostConfig(project.rpHome, (config) => {
      config.limits = { default: { gpus: 0 }, users: {} };
    });
    // Then the job stays queued and rp queue says why; nobody cancels it
    const [blocked] = await queue();
    expect(blocked).toMatchObject({ id: queued?.id, status: 'unservable' });
    expect(blocked?.waitingFor).toMatch(/cannot run: .* may hold at most 0 GPU/);
    const again = await project.rp(['run', '--script=true.sh', '--gpu', '0']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await queue()).map((entry) => entry.id)).toEqual([queued?.id]);
    expect((await project.history()).map((record) => record.ending)).not.toContain('cancelled');

    // And once the limit is raised again and the GPUs free up, it is granted (and, without the
    // NVIDIA runtime on this machine, fails to start: exit 125)
    await editHostConfig(project.rpHome, (config) => {
      config.limits = { default: {}, users: {} };
    });
    await store.transact((state) => ({
      state: { ...state, jobs: state.jobs.filter((job) => job.id !== holder.id) },
      result: undefined,
    }));
    const ended = await waiting;
    expect(ended.exitCode).toBe(125);
  });
});
