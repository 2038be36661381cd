import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import type { ProjectInfo } from '../../src/core/project-config.js';
import {
  checkMountPaths,
  jobMounts,
  jobTimeLimit,
  logFilePath,
  resourceRequest,
  scriptCommand,
  shmSize,
} from '../../src/services/job-spec.js';
import type { Project } from '../../src/services/project.js';
import { makeTempDir } from '../support/tmp.js';

const info: ProjectInfo = {
  cpu: 4,
  gpus: 1,
  memory: 16,
  docker_shm: '2g',
  name: 'mnist',
  tag: 'rp/alice-mnist',
  username: 'alice',
  rp_version: '0.1.0',
  stdout_to_file: false,
};

describe('job spec', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let project: Project;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await makeTempDir('rp-spec-'));
    project = { root, info, paths: ['/data/imagenet/', '/scratch/runs'] };
    await mkdir(join(root, 'scripts'));
    await writeFile(join(root, 'train.sh'), 'echo plain\n');
    await writeFile(join(root, 'scripts/eval.py'), '#!/usr/bin/env python3\nprint(1)\n');
    await chmod(join(root, 'scripts/eval.py'), 0o755);
  });
  afterEach(() => cleanup());

  it('runs a plain script with bash and passes the arguments as they are', async () => {
    expect(await scriptCommand(project, root, ['train.sh', '--lr', '3e-4'])).toEqual([
      'bash',
      './train.sh',
      '--lr',
      '3e-4',
    ]);
  });

  it('runs an executable script with a #! line directly, relative to where the user is', async () => {
    expect(await scriptCommand(project, join(root, 'scripts'), ['eval.py'])).toEqual([
      './scripts/eval.py',
    ]);
  });

  it('refuses a missing script, one outside the project, and an empty line', async () => {
    await expect(scriptCommand(project, root, ['nope.sh'])).rejects.toThrow(/no such file/);
    await expect(scriptCommand(project, root, ['../outside.sh'])).rejects.toThrow(
      /outside the project/,
    );
    await expect(scriptCommand(project, root, [])).rejects.toThrow(UsageError);
    await expect(scriptCommand(project, root, ['scripts'])).rejects.toThrow(/not a file/);
  });

  it('takes resources from the flags, falling back to info.json, memory in MiB', () => {
    expect(resourceRequest(project, {})).toEqual({ gpus: 1, cpus: 4, memoryMb: 16 * 1024 });
    expect(resourceRequest(project, { gpus: 0, cpu: 2, memoryGb: 0.5 })).toEqual({
      gpus: 0,
      cpus: 2,
      memoryMb: 512,
    });
    expect(shmSize(project, undefined)).toBe(2 * 1024 ** 3);
    expect(shmSize(project, '512m')).toBe(512 * 1024 ** 2);
  });

  it('mounts the project at ~/<name> and each path at ~/<basename>', () => {
    expect(jobMounts(project, { name: 'alice', uid: 1000, gid: 1000 })).toEqual([
      { source: root, target: '/home/alice/mnist' },
      { source: '/data/imagenet/', target: '/home/alice/imagenet' },
      { source: '/scratch/runs', target: '/home/alice/runs' },
    ]);
  });

  it('refuses, before anything is queued, an existing entry mounted where the project is', async () => {
    // Given paths.json lists a folder that exists and is named like the project,
    const clash = join(root, 'data', 'mnist');
    await mkdir(clash, { recursive: true });
    // the check before queueing refuses it, naming the entry.
    await expect(checkMountPaths({ ...project, paths: [clash] })).rejects.toThrow(
      new RegExp(`"${clash}" would be mounted as ~/mnist, where the project itself is mounted`),
    );
    await expect(checkMountPaths({ ...project, paths: [join(root, 'data')] })).resolves.toBe(
      undefined,
    );
  });

  it('names log files NAME_YYYYmmdd_HHMMSS.log in .rp/logs, only when asked for', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    expect(logFilePath(project, 'exp1', at)).toBe(join(root, '.rp/logs/exp1_20260102_030405.log'));
    expect(logFilePath(project, undefined, at)).toBeUndefined();
    expect(
      logFilePath({ ...project, info: { ...info, stdout_to_file: true } }, undefined, at),
    ).toBe(join(root, '.rp/logs/mnist_20260102_030405.log'));
    expect(() => logFilePath(project, '../escape', at)).toThrow(UsageError);
  });

  it("takes the time limit from --time, else from .rp/info.json's time, else the host's default", () => {
    const limits = { default: {}, users: {}, defaultTimeSeconds: 600 };
    const timed: Project = { ...project, info: { ...info, time: '2h' } };
    expect(jobTimeLimit(timed, {}, limits, 'alice')).toEqual({ seconds: 7200 });
    expect(jobTimeLimit(timed, { time: '90s' }, limits, 'alice')).toEqual({ seconds: 90 });
    expect(jobTimeLimit(project, {}, limits, 'alice')).toEqual({ seconds: 600 });
    expect(jobTimeLimit(timed, { time: 'unlimited' }, limits, 'alice')).toBeUndefined();
  });
});
