import { describe, expect, it } from 'vitest';
import { parseArraySpec } from '../../src/core/array-spec.js';
import {
  sbatchOptions,
  sbatchScript,
  slurmArray,
  slurmLogPattern,
  slurmTime,
  type SlurmBatchRequest,
} from '../../src/core/slurm-batch.js';

const LOG = '/shared/rp/alice/proj/.rp/logs/proj_1001.log';

function batch(extra: Partial<SlurmBatchRequest> = {}): SlurmBatchRequest {
  return {
    jobId: '1001',
    request: { gpus: 2, cpus: 8, memoryMb: 32_768 },
    logFile: LOG,
    ...extra,
  };
}

describe('the sbatch options of a job', () => {
  it('names the job rp<id> and asks for its GPUs, cores and memory in MiB', () => {
    expect(sbatchOptions(batch())).toEqual([
      '--job-name=rp1001',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=8',
      '--mem=32768M',
      '--gpus=2',
      `--output=${LOG}`,
      `--error=${LOG}`,
    ]);
  });

  it('asks for GPUs as a generic resource where the cluster wants --gres', () => {
    expect(sbatchOptions(batch({ gpuOption: 'gres' }))).toContain('--gres=gpu:2');
    expect(sbatchOptions(batch({ gpuOption: 'gres' }))).not.toContain('--gpus=2');
  });

  it('asks for no GPU at all when the job wants none', () => {
    const options = sbatchOptions(batch({ request: { gpus: 0, cpus: 1, memoryMb: 512 } }));
    expect(options.filter((option) => /gpu/.test(option))).toEqual([]);
  });

  it('gives the partition and account of the host config, and the working folder', () => {
    const options = sbatchOptions(
      batch({ partition: 'gpu', account: 'lab-a', workingDir: '/shared/rp/alice/proj' }),
    );
    expect(options).toContain('--partition=gpu');
    expect(options).toContain('--account=lab-a');
    expect(options).toContain('--chdir=/shared/rp/alice/proj');
  });

  it("passes a time limit in Slurm's form, and none for 'unlimited'", () => {
    expect(sbatchOptions(batch({ timeLimit: 90 * 60 }))).toContain('--time=01:30:00');
    const unlimited = sbatchOptions(batch({ timeLimit: 'unlimited' }));
    expect(unlimited.some((option) => option.startsWith('--time'))).toBe(false);
  });

  it('sends the warning signal to the batch shell, which passes it to the container', () => {
    const options = sbatchOptions(
      batch({ timeLimit: 3600, signal: { name: 'SIGUSR1', before: 60 } }),
    );
    expect(options).toContain('--signal=B:USR1@60');
  });

  it("runs an array as a Slurm array, each task's log its own (%a)", () => {
    const options = sbatchOptions(
      batch({
        array: parseArraySpec('0-99%4'),
        logFile: '/shared/rp/alice/proj/.rp/logs/proj_1001_{task}.log',
      }),
    );
    expect(options).toContain('--array=0-99%4');
    expect(options).toContain('--output=/shared/rp/alice/proj/.rp/logs/proj_1001_%a.log');
    expect(options).toContain('--error=/shared/rp/alice/proj/.rp/logs/proj_1001_%a.log');
  });
});

describe('the batch script', () => {
  it('puts every option in an #SBATCH line ahead of the first command', () => {
    // Given a one-GPU job with an hour's limit
    const script = sbatchScript(
      batch({ request: { gpus: 1, cpus: 2, memoryMb: 4096 }, timeLimit: 3600 }),
      ['set -eu', 'exec rp-slurm-job'],
    );
    // Then the #SBATCH lines come before any command (sbatch stops reading them there)
    expect(script).toBe(
      [
        '#!/bin/bash',
        '#SBATCH --job-name=rp1001',
        '#SBATCH --nodes=1',
        '#SBATCH --ntasks=1',
        '#SBATCH --cpus-per-task=2',
        '#SBATCH --mem=4096M',
        '#SBATCH --gpus=1',
        '#SBATCH --time=01:00:00',
        `#SBATCH --output=${LOG}`,
        `#SBATCH --error=${LOG}`,
        'set -eu',
        'exec rp-slurm-job',
        '',
      ].join('\n'),
    );
  });
});

describe("Slurm's time format", () => {
  it('writes HH:MM:SS under a day and D-HH:MM:SS from a day on', () => {
    expect(slurmTime(59)).toBe('00:00:59');
    expect(slurmTime(90 * 60)).toBe('01:30:00');
    expect(slurmTime(86_400)).toBe('1-00:00:00');
    expect(slurmTime(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)).toBe('2-03:04:05');
  });

  it('rounds a fraction of a second up: a limit is never shorter than asked', () => {
    expect(slurmTime(59.2)).toBe('00:01:00');
  });
});

describe("Slurm's array syntax", () => {
  it('writes a range as a range, with its %N limit', () => {
    expect(slurmArray(parseArraySpec('0-99%4'))).toBe('0-99%4');
  });

  it('keeps steps and lists', () => {
    expect(slurmArray(parseArraySpec('0-100:10'))).toBe('0-100:10');
    expect(slurmArray(parseArraySpec('1,3,5'))).toBe('1-5:2');
    expect(slurmArray(parseArraySpec('7'))).toBe('7');
    expect(slurmArray(parseArraySpec('1,4'))).toBe('1,4');
    expect(slurmArray(parseArraySpec('0-3,5,9-10'))).toBe('0-3,5,9-10');
  });

  it("sorts the indices (Slurm orders the tasks itself) and reads back as rp's spec", () => {
    const spec = parseArraySpec('9,2,3,4,0%2');
    const text = slurmArray(spec);
    expect(text).toBe('0,2-4,9%2');
    expect(parseArraySpec(text).indices.sort((a, b) => a - b)).toEqual([0, 2, 3, 4, 9]);
    expect(parseArraySpec(text).maxRunning).toBe(2);
  });
});

describe('the log path as an sbatch filename pattern', () => {
  it('escapes a literal % so sbatch does not expand it', () => {
    expect(slurmLogPattern('/data/100%/job.log', false)).toBe('/data/100%%/job.log');
  });

  it('refuses an array log path without {task}: every task would write one file', () => {
    expect(() => slurmLogPattern(LOG, true)).toThrow(/\{task\}/);
  });
});
