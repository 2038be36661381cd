import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostPaths } from '../../src/services/host-files.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  removeProjectImages,
  runInImage,
  skipWithoutDocker,
} from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';

interface BuildJson {
  reference: string;
  built: boolean;
  user: { name: string; uid: number; gid: number };
}

async function build(cwd: string): Promise<BuildJson & { exitCode: number; stderr: string }> {
  const result = await rp(['build', '--json'], { cwd });
  const parsed =
    result.exitCode === 0 ? (JSON.parse(result.stdout) as BuildJson) : ({} as BuildJson);
  return { ...parsed, exitCode: result.exitCode, stderr: result.stderr };
}

describe.skipIf(skipWithoutDocker)('rp init and rp build (real Docker engine)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    assertDockerForCi();
    ({ dir, cleanup } = await makeTempDir('rp-build-'));
  });

  afterAll(async () => {
    await removeProjectImages(dir);
    await cleanup();
  });

  it('scaffolds a project', async () => {
    const result = await rp(
      ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '1'],
      { cwd: dir },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    for (const file of [
      'docker/Dockerfile',
      'docker/bashhook.sh',
      'docker/hook_pre_useradd',
      'docker/hook_post_useradd',
      '.rp/info.json',
      '.rp/paths.json',
    ]) {
      await expect(readFile(join(dir, file), 'utf8'), file).resolves.toBeTypeOf('string');
    }
    expect(await readFile(join(dir, 'docker/Dockerfile'), 'utf8')).toContain(`FROM ${BASE_IMAGE}`);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toContain('.rp/logs/');
  });

  it('refuses to overwrite the project without --force', async () => {
    await writeFile(join(dir, 'docker/hook_post_useradd'), 'RUN echo mine\n');
    const result = await rp(['init'], { cwd: dir });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('already an rp project');
    expect(result.stderr).toContain('--force');
    expect(await readFile(join(dir, 'docker/hook_post_useradd'), 'utf8')).toBe('RUN echo mine\n');
  });

  it('builds an image whose user has the host uid and gid, and bashhook exports reach jobs and shells', async () => {
    await appendFile(join(dir, 'docker/bashhook.sh'), 'export RP_HOOK_SAYS=hello\n');
    const result = await build(dir);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.built).toBe(true);
    const ids = await runInImage(result.reference, ['sh', '-c', 'id -u; id -g']);
    expect(ids).toBe(`${process.getuid?.()}\n${process.getgid?.()}`);
    expect(await runInImage(result.reference, ['sh', '-c', 'echo $RP_HOOK_SAYS'])).toBe('hello');
    // An interactive shell gets the hook through /etc/bash.bashrc, with no entrypoint in between.
    const interactive = await runInImage(
      result.reference,
      ['-i', '-c', 'echo $RP_HOOK_SAYS'],
      ['--entrypoint', 'bash'],
    );
    expect(interactive.split('\n').at(-1)).toBe('hello');
  });

  it('does not build again when nothing changed', async () => {
    const first = await build(dir);
    const second = await build(dir);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.built).toBe(false);
    expect(second.reference).toBe(first.reference);
    expect(second.stderr).toContain('is up to date');
  });

  it('rebuilds when a hook changes, and when a context file changes, but not for an ignored file', async () => {
    const before = await build(dir);
    await appendFile(join(dir, 'docker/hook_pre_useradd'), 'RUN echo changed > /etc/rp-marker\n');
    const afterHook = await build(dir);
    expect(afterHook.built).toBe(true);
    expect(afterHook.reference).not.toBe(before.reference);
    expect(await runInImage(afterHook.reference, ['cat', '/etc/rp-marker'])).toBe('changed');

    await writeFile(join(dir, 'docker/.dockerignore'), 'data/\n');
    await mkdir(join(dir, 'docker/data'), { recursive: true });
    await writeFile(join(dir, 'docker/data/big.bin'), 'v1');
    const withIgnore = await build(dir);
    await writeFile(join(dir, 'docker/data/big.bin'), 'v2');
    const ignoredChange = await build(dir);
    expect(ignoredChange.built).toBe(false);
    expect(ignoredChange.reference).toBe(withIgnore.reference);

    await writeFile(join(dir, 'docker/requirements.txt'), 'numpy\n');
    const contextChange = await build(dir);
    expect(contextChange.built).toBe(true);
  });

  it('fails with 125 naming the failing step, and an earlier image never masks it', async () => {
    const good = await build(dir);
    expect(good.exitCode).toBe(0);
    await appendFile(join(dir, 'docker/hook_post_useradd'), 'RUN echo about-to-fail && false\n');
    const result = await rp(['build'], { cwd: dir });
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toContain('the image build failed at step');
    expect(result.stderr).toContain('RUN echo about-to-fail && false');
    expect(result.stderr).toContain('about-to-fail');
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js/);
    // Still failing on a second try: no half-built image is taken for a good one.
    expect((await rp(['build'], { cwd: dir })).exitCode).toBe(125);
  });

  it('names the file and field of an invalid info.json', async () => {
    const file = join(dir, '.rp/info.json');
    const info = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...info, cpu: 0 }));
    const result = await rp(['build'], { cwd: dir });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('.rp/info.json');
    expect(result.stderr).toContain('cpu');
    await writeFile(file, JSON.stringify(info));
  });

  it('says how to start when run outside a project', async () => {
    const outside = await makeTempDir('rp-outside-');
    try {
      const result = await rp(['build'], { cwd: outside.dir });
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('rp init');
    } finally {
      await outside.cleanup();
    }
  });
});

describe('rp init sizes its defaults by the host', () => {
  /** `rp init` in a fresh folder whose host ($RP_HOME) stored this inventory. */
  async function initWithInventory(inventory: {
    cpuCount: number;
    memoryTotalMb: number;
    gpus: Array<{ index: number; uuid?: string }>;
  }): Promise<{ exitCode: number; stdout: string; info: Record<string, unknown> }> {
    const { dir, cleanup } = await makeTempDir('rp-init-host-');
    try {
      const rpHome = join(dir, '.host');
      await mkdir(hostPaths(rpHome).queue, { recursive: true });
      await writeFile(
        hostPaths(rpHome).inventory,
        JSON.stringify({ version: 1, detectedAt: new Date().toISOString(), ...inventory }),
      );
      const result = await rp(['init', '--base', BASE_IMAGE], {
        cwd: dir,
        env: { RP_HOME: rpHome },
      });
      const info = JSON.parse(await readFile(join(dir, '.rp/info.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      return { exitCode: result.exitCode, stdout: result.stdout, info };
    } finally {
      await cleanup();
    }
  }

  it('writes 0 GPUs and at most the host cores on a host without GPUs, saying so', async () => {
    const result = await initWithInventory({ cpuCount: 2, memoryTotalMb: 4096, gpus: [] });
    expect(result.exitCode).toBe(0);
    expect(result.info).toMatchObject({ gpus: 0, cpu: 2, memory: 2, docker_shm: '1g' });
    expect(result.stdout).toContain('no GPU found on this host');
    expect(result.stdout).toContain('this host has 2 CPU cores');
  });

  it('keeps 1 GPU, 4 cores and 16 GB where the host has them', async () => {
    const result = await initWithInventory({
      cpuCount: 64,
      memoryTotalMb: 512 * 1024,
      gpus: [{ index: 0, uuid: 'GPU-0000' }],
    });
    expect(result.exitCode).toBe(0);
    expect(result.info).toMatchObject({ gpus: 1, cpu: 4, memory: 16, docker_shm: '4g' });
    expect(result.stdout).not.toContain('note:');
  });
});
