/**
 * The Slurm backend: a prepared job (image built locally, by its content hash) becomes one
 * `sbatch` of a batch script that runs the same container on a compute node, inside the Slurm
 * job (src/core/slurm-job-script.ts). States come from squeue while Slurm holds the job, then from
 * the status file the script writes and from sacct where the cluster keeps accounting; an ending
 * once seen is kept in the job's record (src/ledger/slurm-jobs.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ArraySpec, SweepParameter } from '../../core/array-spec.js';
import { describeBackend, type SlurmBackendConfig } from '../../core/backend-config.js';
import { taskCommand } from '../../core/launch-spec.js';
import { sbatchScript, TASK_PLACEHOLDER } from '../../core/slurm-batch.js';
import {
  DEFAULT_SLURM_STOP_GRACE_SECONDS,
  SLURM_JOB_LABEL,
  slurmGraceFile,
  slurmJobBody,
  type SweepTask,
} from '../../core/slurm-job-script.js';
import { isEnded, type SlurmJobStatus } from '../../core/slurm-states.js';
import { pushImage, saveImageArchive } from '../../docker/image-distribution.js';
import { randomToken, systemRandomInt } from '../../host/ids.js';
import { openSlurmJobStore, type SlurmJobRecord } from '../../ledger/slurm-jobs.js';
import type { Backend, BackendJob, BackendJobState, JobPhase, SubmitRequest } from '../backend.js';
import { containerLaunchOf } from '../job-launch.js';
import { logFilePath } from '../job-spec.js';
import { readLogFrom } from './log-file.js';
import { cancelSlurmJob } from './slurm-cancel.js';
import { openSlurmCli, type SlurmCli } from './slurm-cli.js';

export interface SlurmBackendOptions {
  rpHome: string;
  config: SlurmBackendConfig;
  /**
   * Seconds a cancelled (or timed-out) job's container gets between SIGTERM and SIGKILL, written
   * into each job's script; default DEFAULT_SLURM_STOP_GRACE_SECONDS.
   */
  stopGraceSeconds?: number;
  /** Ids the local ledger holds, so that no Slurm job takes one of them. */
  takenIds: () => Promise<ReadonlySet<string>>;
  now?: () => Date;
  cli?: SlurmCli;
}

export function openSlurmBackend(options: SlurmBackendOptions): Backend {
  const { config } = options;
  const cli =
    options.cli ??
    openSlurmCli({
      ...(config.ssh ? { ssh: config.ssh } : {}),
      ...(process.env.RP_SSH_CONFIG ? { sshConfigFile: process.env.RP_SSH_CONFIG } : {}),
    });
  const store = openSlurmJobStore(options.rpHome, systemRandomInt);
  const now = options.now ?? (() => new Date());
  const stopGraceSeconds = options.stopGraceSeconds ?? DEFAULT_SLURM_STOP_GRACE_SECONDS;

  const backend: Backend = {
    name: 'slurm',
    describe: () => ({ name: 'slurm', reachedVia: cli.via, lines: describeBackend(config) }),

    async submit(request) {
      const image = await distributeImage(config, request.prepared.image.reference);
      const record = await store.create(
        (id) => newRecord(id, request, config, now()),
        await options.takenIds(),
      );
      try {
        await mkdir(record.dir, { recursive: true });
        await mkdir(dirname(record.logFile), { recursive: true });
        const script = batchScriptOf(record, request, config, image, stopGraceSeconds);
        await writeFile(join(record.dir, 'job.sh'), script, { mode: 0o755 });
        record.slurmJobId = await cli.sbatch(script);
        await store.put(record);
      } catch (error) {
        await store.remove(record.id);
        throw error;
      }
      return toBackendJob(record);
    },

    async list() {
      // Listing is where old endings go: rp ps and rp queue list on every call.
      const release = (record: SlurmJobRecord): Promise<boolean> =>
        removeJobFolder(config.sharedDir, record);
      return (await store.prune(now(), { release }))
        .filter((record) => record.slurmJobId !== '')
        .map(toBackendJob);
    },

    async find(id) {
      const record = await store.get(id);
      return record === undefined || record.slurmJobId === '' ? undefined : toBackendJob(record);
    },

    async poll(jobs) {
      const records = (await Promise.all(jobs.map((job) => store.get(job.id)))).filter(
        (record): record is SlurmJobRecord => record !== undefined,
      );
      const open = records.filter((record) => !allEnded(record));
      const live = await cli.squeue(open.map((record) => `rp${record.id}`));
      const inSqueue = new Set(live.map((entry) => entry.jobId));
      const gone = open.filter((record) => !inSqueue.has(record.slurmJobId));
      const accounted =
        gone.length === 0 ? [] : ((await cli.sacct(gone.map((record) => record.slurmJobId))) ?? []);
      const states: BackendJobState[] = [];
      for (const record of records) {
        const fromSlurm = [...live, ...accounted].filter(
          (entry) => entry.jobId === record.slurmJobId,
        );
        const recordStates = await statesOf(record, fromSlurm, now());
        if (recordStates.changed) await store.put(record);
        states.push(...recordStates.states);
      }
      return states;
    },

    // scancel's SIGTERM reaches the script's trap, which stops the container with the job's own
    // grace, or with the one cancelSlurmJob writes first (slurm-cancel.ts).
    cancel: (job, options) => cancelSlurmJob({ cli, store }, job, options),

    async readLog(job, offset, task) {
      const record = await store.get(job.id);
      if (record === undefined) return { data: Buffer.alloc(0), offset };
      return readLogFrom(taskPath(record.logFile, task), offset);
    },
  };
  return backend;
}

/** The name a node runs the image by: the local reference, loaded or pulled under that name. */
async function distributeImage(
  config: SlurmBackendConfig,
  reference: string,
): Promise<{ archive: string } | { pull: string }> {
  if (config.registry !== undefined) return { pull: await pushImage(reference, config.registry) };
  // The tag is the image's content hash: one archive per content, loaded once per node.
  const archive = join(
    config.sharedDir,
    'images',
    `${reference.replace(/[^A-Za-z0-9._-]/g, '_')}.tar`,
  );
  await saveImageArchive(reference, archive);
  return { archive };
}

function newRecord(
  id: string,
  request: SubmitRequest,
  config: SlurmBackendConfig,
  at: Date,
): SlurmJobRecord {
  const { prepared, user } = request;
  const dir = join(config.sharedDir, 'jobs', user.name, `rp${id}-${randomToken(3)}`);
  const isArray = request.array !== undefined;
  return {
    id,
    slurmJobId: '',
    user: user.name,
    uid: user.uid,
    project: { name: prepared.project.info.name, path: prepared.project.root },
    command: prepared.commandLine,
    request: prepared.request,
    ...(prepared.timeLimit ? { timeLimitSeconds: prepared.timeLimit.seconds } : {}),
    submittedAt: at.toISOString(),
    dir,
    logFile: logFileOf(id, request, dir, at),
    statusFile: join(dir, isArray ? `status-${TASK_PLACEHOLDER}` : 'status'),
    ...(request.array
      ? {
          array: {
            indices: [...request.array.indices],
            ...(request.array.maxRunning === undefined
              ? {}
              : { maxRunning: request.array.maxRunning }),
          },
        }
      : {}),
    ended: {},
  };
}

/**
 * Where the job's output goes: the project's `.rp/logs/` when it names its log (as a local job's
 * log: `NAME_<date>_<id>.log`, an array's `NAME_<id>_<task>.log`), else the job's folder on the
 * shared folder. An array's path holds `{task}`.
 */
function logFileOf(id: string, request: SubmitRequest, dir: string, at: Date): string {
  const { logName, prepared } = request;
  const isArray = request.array !== undefined;
  if (logName === undefined) {
    return join(dir, isArray ? `output-${TASK_PLACEHOLDER}.log` : 'output.log');
  }
  const single = logFilePath(prepared.project, logName, at, id) as string;
  return isArray ? join(dirname(single), `${logName}_${id}_${TASK_PLACEHOLDER}.log`) : single;
}

function batchScriptOf(
  record: SlurmJobRecord,
  request: SubmitRequest,
  config: SlurmBackendConfig,
  image: { archive: string } | { pull: string },
  graceSeconds: number,
): string {
  const { prepared } = request;
  const launch = containerLaunchOf(prepared, request.groups);
  const signal = prepared.timeLimit?.signal;
  const body = slurmJobBody({
    jobId: record.id,
    image: prepared.image.reference,
    imageSource: image,
    user: launch.user,
    groups: launch.groups,
    workingDir: launch.workingDir,
    mounts: launch.mounts,
    shmBytes: launch.shmBytes,
    memoryMb: prepared.request.memoryMb,
    env: launch.env,
    labels: {
      'rp.job': record.id,
      'rp.user': record.user,
      'rp.project-path': record.project.path,
      'rp.backend': 'slurm',
    },
    command: launch.command,
    ...(request.sweep && request.array
      ? { sweepTasks: sweepTasksOf(record.id, launch.command, request.sweep, request.array) }
      : {}),
    statusFile: record.statusFile,
    isArray: request.array !== undefined,
    graceSeconds,
    graceFile: slurmGraceFile(record.dir),
    ...(signal ? { warningSignal: signal.name.toUpperCase().replace(/^SIG/, '') } : {}),
  });
  return sbatchScript(
    {
      jobId: record.id,
      request: prepared.request,
      ...(prepared.timeLimit ? { timeLimit: prepared.timeLimit.seconds } : {}),
      ...(signal ? { signal } : {}),
      ...(request.array ? { array: request.array } : {}),
      logFile: record.logFile,
      workingDir: record.dir,
      ...(config.partition ? { partition: config.partition } : {}),
      ...(config.account ? { account: config.account } : {}),
      ...(config.gpuOption ? { gpuOption: config.gpuOption } : {}),
    },
    body,
  );
}

/**
 * Removes an expired job's folder on the shared folder (its script, logs and status files) before
 * its record goes; false when this user may not (another user's job: its owner's next listing
 * removes it, or root's). Only a folder where rp makes them, `<sharedDir>/jobs/<user>/rp<id>-…`,
 * is removed, whatever the record says.
 */
async function removeJobFolder(sharedDir: string, record: SlurmJobRecord): Promise<boolean> {
  const made = join(sharedDir, 'jobs', record.user);
  if (dirname(record.dir) !== made || !basename(record.dir).startsWith(`rp${record.id}-`)) {
    return true;
  }
  try {
    await rm(record.dir, { recursive: true, force: true });
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return false;
    throw error;
  }
}

/** Each task of a sweep with its placeholders filled in, as a local sweep's task runs. */
function sweepTasksOf(
  id: string,
  command: readonly string[],
  sweep: readonly SweepParameter[],
  array: ArraySpec,
): SweepTask[] {
  return array.indices.map((task) => {
    const planned = taskCommand(
      { command: [...command], sweep: [...sweep] },
      { id, array: { task } },
    );
    // RP_ARRAY_* come from the script's own options for every task (rp_task); these add the grid's.
    const env = Object.fromEntries(
      Object.entries(planned.env).filter(([key]) => key.startsWith('RP_SWEEP_')),
    );
    return { task, command: planned.command, env };
  });
}

function toBackendJob(record: SlurmJobRecord): BackendJob {
  return {
    id: record.id,
    backend: 'slurm',
    backendJobId: record.slurmJobId,
    user: record.user,
    project: record.project,
    command: record.command,
    request: record.request,
    submittedAt: record.submittedAt,
    ...(record.timeLimitSeconds === undefined ? {} : { timeLimitSeconds: record.timeLimitSeconds }),
    ...(record.array ? { tasks: record.array.indices } : {}),
  };
}

function taskKeys(record: SlurmJobRecord): Array<number | undefined> {
  return record.array ? record.array.indices : [undefined];
}

function allEnded(record: SlurmJobRecord): boolean {
  return taskKeys(record).every((task) => record.ended[String(task ?? '')] !== undefined);
}

function taskPath(path: string, task: number | undefined): string {
  return task === undefined ? path : path.replaceAll(TASK_PLACEHOLDER, String(task));
}

/** Each task's state from what Slurm said, the status files and the endings recorded before. */
async function statesOf(
  record: SlurmJobRecord,
  fromSlurm: readonly SlurmJobStatus[],
  at: Date,
): Promise<{ states: BackendJobState[]; changed: boolean }> {
  let changed = false;
  const states: BackendJobState[] = [];
  for (const task of taskKeys(record)) {
    const key = String(task ?? '');
    const known = record.ended[key];
    if (known !== undefined) {
      states.push({
        ...stateOf(record.id, task, known.phase as JobPhase, undefined, known.exitCode),
        endedAt: known.at,
      });
      continue;
    }
    const entry = fromSlurm.find((status) =>
      task === undefined
        ? status.task === undefined && status.pendingTasks === undefined
        : status.task === task || (status.pendingTasks?.includes(task) ?? false),
    );
    // An array not yet split into tasks is one pending entry without a task.
    const slurm =
      entry ??
      (task !== undefined
        ? fromSlurm.find((status) => status.slurmId === record.slurmJobId)
        : undefined);
    if (slurm !== undefined && !isEnded(slurm.phase)) {
      states.push(stateOf(record.id, task, slurm.phase, slurm.reason));
      continue;
    }
    const exitCode = await readStatus(taskPath(record.statusFile, task));
    let phase: JobPhase | undefined = slurm?.phase;
    if (phase === undefined && exitCode !== undefined)
      phase = exitCode === 0 ? 'completed' : 'failed';
    if (phase === undefined) {
      // Slurm no longer lists the job and it wrote no status: it ended without saying how.
      phase = 'unknown';
    }
    const code = exitCode ?? slurm?.exitCode;
    record.ended[key] = {
      phase,
      ...(code === undefined ? {} : { exitCode: code }),
      at: at.toISOString(),
    };
    changed = true;
    states.push({ ...stateOf(record.id, task, phase, undefined, code), endedAt: at.toISOString() });
  }
  return { states, changed };
}

function stateOf(
  id: string,
  task: number | undefined,
  phase: JobPhase,
  reason?: string,
  exitCode?: number,
): BackendJobState {
  return {
    id,
    ...(task === undefined ? {} : { task }),
    phase,
    ...(reason === undefined ? {} : { reason }),
    ...(exitCode === undefined ? {} : { exitCode }),
  };
}

/** The exit code in a status file (`exit=N`), or undefined when it is not (yet) there. */
async function readStatus(path: string): Promise<number | undefined> {
  try {
    const match = /^exit=(\d+)$/m.exec(await readFile(path, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export { SLURM_JOB_LABEL };
