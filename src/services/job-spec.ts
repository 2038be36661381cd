/**
 * What a job is, worked out from the project and the flags before anything is queued: the argument
 * vector, the resources, the mounts, the log file. Every problem is an error naming what to fix.
 */
import { access, constants, open, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { homeDirectory, type ImageUser } from '../core/dockerfile.js';
import { DURATION_FORMS, parseTimeLimit, type TimeLimit } from '../core/durations.js';
import { ConfigError, UsageError } from '../core/errors.js';
import type { UserLimits } from '../core/host-config.js';
import type { ResourceRequest, TimeLimitSpec } from '../core/ledger-state.js';
import {
  parseSignalSpec,
  resolveTimeLimit,
  timeLimitRefusal,
  timeLimitSpec,
} from '../core/time-limits.js';
import { checkMountNames, gbToMb, mountBaseName, PROJECT_FILES } from '../core/project-config.js';
import { parseDockerSize } from '../core/sizes.js';
import type { Mount } from '../docker/job-container.js';
import type { Project } from './project.js';

/** The resources a job asks for: flags, falling back to .rp/info.json. */
export interface ResourceFlags {
  cpu?: number;
  gpus?: number;
  memoryGb?: number;
}

/**
 * The argument vector run in the container. The script is a file of the project: an executable
 * one with a #! line runs as it is, anything else runs with bash.
 */
export async function scriptCommand(
  project: Project,
  cwd: string,
  argv: string[],
): Promise<string[]> {
  const [script, ...args] = argv;
  if (script === undefined) {
    throw new UsageError('--script is empty', { hint: 'e.g. --script="train.sh --lr 3e-4"' });
  }
  const hostPath = resolve(cwd, script);
  const inProject = relative(project.root, hostPath);
  if (inProject.startsWith('..') || isAbsolute(inProject)) {
    throw new UsageError(`--script ${script} is outside the project ${project.root}`, {
      hint: 'scripts run inside the container, where only the project folder is mounted',
    });
  }
  let stats;
  try {
    stats = await stat(hostPath);
  } catch {
    throw new UsageError(`--script ${script}: no such file in ${project.root}`, {
      hint: 'give the path of a script in the project, relative to where you are',
    });
  }
  if (!stats.isFile()) throw new UsageError(`--script ${script} is not a file`);
  const executable = await access(hostPath, constants.X_OK).then(
    () => true,
    () => false,
  );
  const path = `./${inProject.split('\\').join('/')}`;
  return executable && (await hasShebang(hostPath)) ? [path, ...args] : ['bash', path, ...args];
}

async function hasShebang(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(2);
    await handle.read(buffer, 0, 2, 0);
    return buffer.toString() === '#!';
  } finally {
    await handle.close();
  }
}

/**
 * Every paths.json entry can be mounted where the job expects it (see checkMountNames) and
 * exists, so a job is never queued only to fail when its container is made.
 */
export async function checkMountPaths(project: Pick<Project, 'info' | 'paths'>): Promise<void> {
  checkMountNames(project.paths, { projectName: project.info.name });
  for (const path of project.paths) {
    try {
      await stat(path);
    } catch {
      throw new ConfigError(`${PROJECT_FILES.paths}: ${path} does not exist`, {
        hint: `create it or remove it from ${PROJECT_FILES.paths}`,
      });
    }
  }
}

export function resourceRequest(project: Project, options: ResourceFlags): ResourceRequest {
  return {
    gpus: options.gpus ?? project.info.gpus,
    cpus: options.cpu ?? project.info.cpu,
    memoryMb: gbToMb(options.memoryGb ?? project.info.memory),
  };
}

/**
 * The time limit the job asks for: `--time`, else the project's `time` in .rp/info.json;
 * undefined when neither says (the host's default then applies).
 */
export function requestedTimeLimit(
  project: Project,
  flag: string | undefined,
): TimeLimit | undefined {
  if (flag === undefined) {
    const text = project.info.time;
    // Validated when info.json was read.
    return text === undefined ? undefined : parseTimeLimit(text);
  }
  const limit = parseTimeLimit(flag);
  if (limit === undefined) {
    throw new UsageError(`--time "${flag}" is not a length of time`, {
      hint: `write ${DURATION_FORMS}`,
    });
  }
  return limit;
}

/**
 * The job's time limit and warning signal, under the host's defaults. A limit the user's maxTime
 * refuses is refused here, before the image is built; admission checks it again under the lock.
 */
export function jobTimeLimit(
  project: Project,
  flags: { time?: string; signal?: string },
  limits: UserLimits,
  user: string,
): TimeLimitSpec | undefined {
  const seconds = resolveTimeLimit(requestedTimeLimit(project, flags.time), limits, user);
  const signal = flags.signal === undefined ? undefined : parseSignalSpec(flags.signal);
  const refusal = timeLimitRefusal(seconds, limits, user);
  if (refusal !== undefined) {
    throw new ConfigError(refusal, {
      hint: 'give a shorter --time (or "time" in .rp/info.json); "rp host show" lists the limits',
    });
  }
  return timeLimitSpec(seconds, signal);
}

export function shmSize(project: Project, override: string | undefined): number {
  const text = override ?? project.info.docker_shm;
  const bytes = parseDockerSize(text);
  if (bytes === undefined)
    throw new UsageError(`shared memory size "${text}" is not a size such as 2g or 512m`);
  return bytes;
}

export function projectMountPoint(project: Project, user: ImageUser): string {
  return `${homeDirectory(user)}/${project.info.name}`;
}

/** The project at ~/<name> (its .cache and output with it), each paths.json entry at ~/<basename>. */
export function jobMounts(project: Project, user: ImageUser): Mount[] {
  return [
    { source: project.root, target: projectMountPoint(project, user) },
    ...project.paths.map((path) => ({
      source: path,
      target: `${homeDirectory(user)}/${mountBaseName(path)}`,
    })),
  ];
}

/**
 * The log file of a job: `.rp/logs/NAME_YYYYmmdd_HHMMSS.log`, named by --outfile_name, or by the
 * project when info.json says stdout_to_file; undefined when neither asks for one. A detached
 * job's name ends with its id (`NAME_YYYYmmdd_HHMMSS_1234.log`): many may be submitted in one
 * second.
 */
export function logFilePath(
  project: Project,
  outfileName: string | undefined,
  at: Date,
  jobId?: string,
): string | undefined {
  const name = outfileName ?? (project.info.stdout_to_file ? project.info.name : undefined);
  if (name === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new UsageError(
      `--outfile_name "${name}" may hold only letters, digits, ".", "_" and "-"`,
    );
  }
  const suffix = jobId === undefined ? '' : `_${jobId}`;
  return join(project.root, PROJECT_FILES.logs, `${name}_${timestamp(at)}${suffix}.log`);
}

function timestamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}_` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`
  );
}
