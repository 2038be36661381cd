/**
 * `rp run --array 0-99%4` and `rp run --sweep lr=… --sweep seed=…`: many tasks of one script in
 * one submission. Everything is checked first (the spec, every task's placeholders, the image);
 * then one launch file and one ledger transaction queue every task, detached, under one job id.
 * The host supervisor runs them like any detached job, each writing its own log file.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  expandGrid,
  parseArraySpec,
  parseSweepParameter,
  substitutePlaceholders,
  type SweepParameter,
} from '../core/array-spec.js';
import { UsageError } from '../core/errors.js';
import { taskCommand } from '../core/launch-spec.js';
import type { JobEntry } from '../core/ledger-state.js';
import { enqueueArray, type NewTask } from '../core/queue-transitions.js';
import { supplementaryGroups } from '../host/identity.js';
import { systemRandomInt } from '../host/ids.js';
import { currentProcessRef } from '../host/process.js';
import { withLaunchFile } from '../ledger/launch-files.js';
import { launchSpecOf } from './job-launch.js';
import { logFilePath } from './job-spec.js';
import { newJobOf, prepareJob, type JobRequestOptions } from './job-submission.js';
import { ensureHostSupervisor } from './supervisor-start.js';

export interface ArraySubmission {
  /** `--array`: Slurm's syntax, e.g. 0-99, 1,3,5, 0-100:10, 0-99%4. */
  array?: string;
  /** `--sweep NAME=VALUES`, each once. */
  sweep?: readonly string[];
  outfileName?: string;
}

export interface ArrayResult {
  /** Every task's entry, in task order; all share one id. */
  tasks: JobEntry[];
  /** `%N`, when given. */
  limit?: number;
  /** Where the tasks' log files go: `<logDir>/NAME_<id>_<task>.log`. */
  logDir: string;
  logName: string;
}

/** The tasks of a submission, from its flags; a usage error names the flag at fault. */
export function planTasks(
  options: ArraySubmission,
  commandLine: string,
): { tasks: NewTask[]; limit?: number; sweep?: SweepParameter[] } {
  if (options.array !== undefined && options.sweep !== undefined && options.sweep.length > 0) {
    throw new UsageError('--array and --sweep cannot be combined', {
      hint: 'a grid already numbers its tasks: use {i} in --script for the task index',
    });
  }
  if (options.array !== undefined) {
    const spec = parseArraySpec(options.array);
    const tasks = spec.indices.map((task) => ({
      task,
      command: substitutePlaceholders(commandLine, { i: String(task) }),
    }));
    return spec.maxRunning === undefined ? { tasks } : { tasks, limit: spec.maxRunning };
  }
  const sweep = (options.sweep ?? []).map(parseSweepParameter);
  const tasks = expandGrid(sweep).map((values, task) => ({
    task,
    command: substitutePlaceholders(commandLine, { i: String(task), ...values }),
  }));
  return { tasks, sweep };
}

export async function submitArray(
  request: JobRequestOptions,
  options: ArraySubmission,
): Promise<ArrayResult> {
  const { session } = request;
  // Before anything is built: a bad spec or placeholder is a usage error at once.
  const planned = planTasks(options, request.script ?? '');
  const prepared = await prepareJob(request);
  // The placeholders of the argument vector, as the supervisor will fill them in.
  taskCommand({ command: prepared.command, ...planned }, { id: '1000', array: { task: 0 } });

  const logName = options.outfileName ?? prepared.project.info.name;
  // The folder of a single job's log, and its checks of the name.
  const logDir = dirname(logFilePath(prepared.project, logName, session.clock.now()) as string);
  await mkdir(logDir, { recursive: true });
  const spec = {
    ...launchSpecOf(prepared, supplementaryGroups(), logDir),
    ...(planned.sweep === undefined || planned.sweep.length === 0 ? {} : { sweep: planned.sweep }),
  };
  const now = session.clock.now();
  const job = newJobOf(prepared, request.user, await currentProcessRef(), now);
  const logFileOf = (id: string, task: number): string =>
    join(logDir, `${logName}_${id}_${task}.log`);
  const limit = planned.limit === undefined ? {} : { limit: planned.limit };
  // Before the lock: a GPU busy outside rp must be seen before any task is granted it.
  await session.lookAtGpus(prepared.request.gpus > 0);
  const tasks = await withLaunchFile(session.store.paths, spec, (launch) =>
    session.transact((state, policy) =>
      enqueueArray(
        state,
        { ...job, detached: { launch } },
        planned.tasks,
        { logFileOf, ...limit },
        policy,
        now,
        systemRandomInt,
      ),
    ),
  );
  await ensureHostSupervisor(session);
  return {
    tasks,
    logDir,
    logName,
    ...(planned.limit === undefined ? {} : { limit: planned.limit }),
  };
}
