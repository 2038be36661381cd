/**
 * What rp hands to `sbatch`: the options of a job's allocation, as `#SBATCH` lines of its batch
 * script or as arguments, worked out from what the job asks for. Pure, so every option is
 * unit-tested without a cluster; running sbatch (locally or over ssh) is the Slurm backend's.
 * See docs/slurm-runtime.md for what the script itself must do with the container.
 */
import type { ArraySpec } from './array-spec.js';
import { SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE } from './durations.js';
import type { TimeLimit } from './durations.js';
import type { ResourceRequest, TimeLimitSpec } from './ledger-state.js';

/** How a cluster wants GPUs asked for: `--gpus=N` (cons_tres) or the older `--gres=gpu:N`. */
export type GpuOption = 'gpus' | 'gres';

/** The placeholder in SlurmBatchRequest.logFile that stands for an array task's index. */
export const TASK_PLACEHOLDER = '{task}';

export interface SlurmBatchRequest {
  /** rp's job id: the Slurm job is named `rp<id>`, which is how rp finds its jobs in squeue. */
  jobId: string;
  request: ResourceRequest;
  /** How long the job may run; absent or 'unlimited': no `--time`, the partition's default. */
  timeLimit?: TimeLimit;
  /**
   * A warning before the limit (`rp run --signal USR1@60`): sent to the batch shell only, whose
   * trap passes it on to the container (docs/slurm-runtime.md).
   */
  signal?: TimeLimitSpec['signal'];
  /** An array submission: its indices and `%N` limit. */
  array?: ArraySpec;
  /**
   * The job's log, as the compute node sees it (on the shared folder); output and errors both go
   * there, as rp's local jobs do. An array's path holds `{task}` where the task index goes.
   */
  logFile: string;
  /** Where the batch script starts (`--chdir`), as the compute node sees it. */
  workingDir?: string;
  partition?: string;
  account?: string;
  /** Default 'gpus'. */
  gpuOption?: GpuOption;
}

/**
 * The sbatch options of a request, each one `--name=value` element (no shell quoting: they are
 * either an argument vector or `#SBATCH` lines, and sbatch splits neither at spaces).
 */
export function sbatchOptions(batch: SlurmBatchRequest): string[] {
  const { request } = batch;
  const options = [`--job-name=rp${batch.jobId}`];
  if (batch.partition !== undefined) options.push(`--partition=${batch.partition}`);
  if (batch.account !== undefined) options.push(`--account=${batch.account}`);
  // One task with all its cores: rp's job is one container, however many threads it runs.
  options.push('--nodes=1', '--ntasks=1', `--cpus-per-task=${request.cpus}`);
  options.push(`--mem=${request.memoryMb}M`);
  if (request.gpus > 0) {
    options.push(
      batch.gpuOption === 'gres' ? `--gres=gpu:${request.gpus}` : `--gpus=${request.gpus}`,
    );
  }
  if (batch.timeLimit !== undefined && batch.timeLimit !== 'unlimited') {
    options.push(`--time=${slurmTime(batch.timeLimit)}`);
  }
  if (batch.signal !== undefined) {
    options.push(`--signal=B:${signalName(batch.signal.name)}@${batch.signal.before}`);
  }
  if (batch.array !== undefined) options.push(`--array=${slurmArray(batch.array)}`);
  const log = slurmLogPattern(batch.logFile, batch.array !== undefined);
  options.push(`--output=${log}`, `--error=${log}`);
  if (batch.workingDir !== undefined) options.push(`--chdir=${batch.workingDir}`);
  return options;
}

/**
 * The batch script: the options as `#SBATCH` lines ahead of `body` (the lines that run the
 * container). sbatch reads `#SBATCH` lines only before the first command, so they come first.
 */
export function sbatchScript(batch: SlurmBatchRequest, body: readonly string[]): string {
  const header = sbatchOptions(batch).map((option) => `#SBATCH ${option}`);
  return ['#!/bin/bash', ...header, ...body].join('\n') + '\n';
}

/**
 * A time limit in Slurm's form, D-HH:MM:SS (or HH:MM:SS under a day). Slurm counts limits in
 * whole minutes and rounds seconds up itself, so the seconds are passed as they are.
 */
export function slurmTime(seconds: number): string {
  const total = Math.max(0, Math.ceil(seconds));
  const days = Math.floor(total / SECONDS_PER_DAY);
  const hours = Math.floor((total % SECONDS_PER_DAY) / SECONDS_PER_HOUR);
  const minutes = Math.floor((total % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE);
  const rest = total % SECONDS_PER_MINUTE;
  const two = (n: number): string => String(n).padStart(2, '0');
  const clock = `${two(hours)}:${two(minutes)}:${two(rest)}`;
  return days > 0 ? `${days}-${clock}` : clock;
}

/**
 * An array spec in Slurm's syntax: the indices sorted and written as runs (`0-3`, and evenly
 * spaced runs of three or more as `10-30:10`), then `%N`. Slurm orders the tasks itself, so rp's
 * order of indices is not kept.
 */
export function slurmArray(spec: ArraySpec): string {
  const indices = [...new Set(spec.indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = 0;
  while (start < indices.length) {
    const first = indices[start] as number;
    const next = indices[start + 1];
    if (next === undefined) {
      parts.push(String(first));
      break;
    }
    const step = next - first;
    let end = start + 1;
    while (
      end + 1 < indices.length &&
      (indices[end + 1] as number) - (indices[end] as number) === step
    ) {
      end += 1;
    }
    const last = indices[end] as number;
    if (end - start + 1 >= 3 || step === 1) {
      parts.push(step === 1 ? `${first}-${last}` : `${first}-${last}:${step}`);
      start = end + 1;
    } else {
      // Two indices with a gap: the first stands alone, the second may begin the next run.
      parts.push(String(first));
      start += 1;
    }
  }
  const list = parts.join(',');
  return spec.maxRunning === undefined ? list : `${list}%${spec.maxRunning}`;
}

/**
 * The log path as an sbatch filename pattern: sbatch expands `%x` sequences in --output, so a
 * literal "%" is written "%%", and an array's `{task}` becomes `%a` (the task index).
 */
export function slurmLogPattern(logFile: string, isArray: boolean): string {
  const escaped = logFile.replaceAll('%', '%%');
  if (!isArray) return escaped;
  if (!escaped.includes(TASK_PLACEHOLDER)) {
    // Every task would write the same file: a bug in the caller, not a user's mistake.
    throw new Error(`an array job's log path needs ${TASK_PLACEHOLDER}: ${logFile}`);
  }
  return escaped.replaceAll(TASK_PLACEHOLDER, '%a');
}

/** `USR1` from `SIGUSR1`, `usr1` or `USR1`: sbatch wants the bare name (or a number). */
function signalName(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('SIG') ? upper.slice(3) : upper;
}
