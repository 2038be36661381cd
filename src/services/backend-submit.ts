/**
 * `rp run` on a backend other than this machine (`--backend slurm`, or the host config's): the job
 * is checked and its image built exactly as for a local job (prepareJob), then handed to the
 * backend: in the foreground (streamed, exits with the script's code), detached, or as an array.
 */
import { parseArraySpec } from '../core/array-spec.js';
import { UsageError } from '../core/errors.js';
import { jobName } from '../core/naming.js';
import { supplementaryGroups } from '../host/identity.js';
import type { Backend, BackendJob } from './backend.js';
import { runOnBackend, type BackendRunIo } from './backend-run.js';
import { prepareJob, type JobRequestOptions } from './run-job.js';

export interface BackendSubmitOptions {
  array?: string;
  sweep?: readonly string[];
  detach: boolean;
  noWait: boolean;
  outfileName?: string;
  io: BackendRunIo;
}

export interface BackendSubmitResult {
  exitCode: number;
  /** What to print on stdout (detached and array submissions). */
  lines: string[];
  job?: BackendJob;
}

export async function submitToBackend(
  backend: Backend,
  request: JobRequestOptions,
  options: BackendSubmitOptions,
): Promise<BackendSubmitResult> {
  const flag = `--backend ${backend.name}`;
  if (options.sweep !== undefined && options.sweep.length > 0) {
    throw new UsageError(`--sweep is not available with ${flag} yet`, {
      hint: 'use --array with {i} in --script, or run the sweep with --backend local',
    });
  }
  if (options.noWait) {
    throw new UsageError(`--no-wait does not apply with ${flag}`, {
      hint: 'the cluster decides when the job starts; "rp ps" shows why it waits',
    });
  }
  if (options.outfileName !== undefined) {
    throw new UsageError(`--outfile_name does not apply with ${flag}`, {
      hint: 'the log is kept on the shared folder: "rp logs ID" prints it',
    });
  }
  const array = options.array === undefined ? undefined : parseArraySpec(options.array);
  const prepared = await prepareJob(request);
  const submit = {
    prepared,
    user: request.user,
    groups: supplementaryGroups(),
    ...(array === undefined ? {} : { array }),
  };
  if (array === undefined && !options.detach) {
    const exitCode = await runOnBackend(backend, submit, options.io);
    return { exitCode, lines: [] };
  }
  const job = await backend.submit(submit);
  options.io.submitted?.(job);
  const name = jobName(job.id);
  const where = `${backend.name} job ${job.backendJobId}`;
  if (array !== undefined) {
    const first = array.indices[0] ?? 0;
    return {
      exitCode: 0,
      job,
      lines: [
        `${name} runs ${array.indices.length} task(s) as ${where} (a Slurm array)`,
        `see them with: rp ps    a task's output: rp logs ${job.id}_${first}    stop them: rp kill ${job.id}`,
      ],
    };
  }
  return {
    exitCode: 0,
    job,
    lines: [
      `${name} runs in the background as ${where}`,
      `follow it with: rp logs ${job.id} -f    stop it with: rp kill ${job.id}`,
    ],
  };
}
