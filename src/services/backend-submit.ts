/**
 * `rp run` on a backend other than this machine (`--backend slurm`, or the host config's): the job
 * is checked and its image built exactly as for a local job (prepareJob), then handed to the
 * backend: in the foreground (streamed, exits with the script's code), detached, or as an array
 * (`--array`, or a `--sweep` grid numbered 0..n-1 the way a local sweep is).
 */
import type { ArraySpec } from '../core/array-spec.js';
import { UsageError } from '../core/errors.js';
import { taskCommand } from '../core/launch-spec.js';
import { jobName } from '../core/naming.js';
import { supplementaryGroups } from '../host/identity.js';
import type { Backend, BackendJob } from './backend.js';
import { runOnBackend, type BackendRunIo } from './backend-run.js';
import { logFilePath } from './job-spec.js';
import { prepareJob, type JobRequestOptions } from './job-submission.js';
import { planTasks } from './submit-array.js';

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
  if (options.noWait) {
    // sbatch has no way to refuse a job that would wait (its --immediate is gone since Slurm 21).
    throw new UsageError(`--no-wait does not apply with --backend ${backend.name}`, {
      hint: 'the cluster decides when the job starts; "rp ps" shows why it waits',
    });
  }
  // Before anything is built: a bad spec or placeholder is a usage error at once.
  const planned =
    options.array !== undefined || (options.sweep ?? []).length > 0
      ? planTasks(options, request.script ?? '')
      : undefined;
  const array: ArraySpec | undefined = planned && {
    indices: planned.tasks.map((task) => task.task),
    ...(planned.limit === undefined ? {} : { maxRunning: planned.limit }),
  };
  const sweep =
    planned?.sweep !== undefined && planned.sweep.length > 0 ? planned.sweep : undefined;
  const prepared = await prepareJob(request);
  const { info } = prepared.project;
  const logName = options.outfileName ?? (info.stdout_to_file ? info.name : undefined);
  // Its checks of the name, before anything is submitted.
  logFilePath(prepared.project, logName, request.session.clock.now());
  // The placeholders of the argument vector, as each task's will be filled in.
  if (planned !== undefined) {
    taskCommand({ command: prepared.command, ...planned }, { id: '1000', array: { task: 0 } });
  }
  const submit = {
    prepared,
    user: request.user,
    groups: supplementaryGroups(),
    ...(array === undefined ? {} : { array }),
    ...(sweep === undefined ? {} : { sweep }),
    ...(logName === undefined ? {} : { logName }),
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
