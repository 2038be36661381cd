import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InitHost } from '../../src/core/project-defaults.js';
import { initProject } from '../../src/services/init-project.js';
import { makeTempDir } from '../support/tmp.js';

const user = { name: 'alice', uid: 1000, gid: 1000 };
const laptop: InitHost = { gpuCount: 0, cpuCount: 2, memoryTotalMb: 8 * 1024 };

describe('initProject', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let probes: number;
  const probeHost = async (): Promise<InitHost> => {
    probes += 1;
    return laptop;
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('rp-init-'));
    probes = 0;
  });
  afterEach(() => cleanup());

  it('writes defaults that fit a host without GPUs, and says why', async () => {
    const result = await initProject({ dir, user, force: false, probeHost });
    const info = JSON.parse(await readFile(join(dir, '.rp/info.json'), 'utf8')) as unknown;
    expect(info).toMatchObject({ gpus: 0, cpu: 2, memory: 6, docker_shm: '3g' });
    expect(result.notes).toHaveLength(3);
    expect(result.notes[0]).toMatch(/no GPU found on this host/);
  });

  it('lets the flags win, and does not look at the host when every resource is given', async () => {
    const result = await initProject({
      dir,
      user,
      force: false,
      probeHost,
      gpus: 1,
      cpu: 8,
      memory: 32,
    });
    expect(result.info).toMatchObject({ gpus: 1, cpu: 8, memory: 32, docker_shm: '4g' });
    expect(result.notes).toEqual([]);
    expect(probes).toBe(0);
  });
});
