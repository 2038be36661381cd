/**
 * `rp activity add|remove`: defining an activity (an rp project, a script, each job's resources)
 * and making its folders: the drop folder (1733: anyone may add a file, nobody may list or take
 * another's), the work area (root only) and failed/ (enterable, not listable). Root only: the
 * drain that serves the folders runs as root to claim files and start jobs as their owners.
 */
import { chmod, chown, lstat, mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  DEFAULT_STABLE_SECONDS,
  ACTIVITY_NAME,
  parseAcceptList,
  type Activity,
} from '../core/activities.js';
import { splitCommandLine } from '../core/command-line.js';
import { DURATION_FORMS, parseTimeLimit } from '../core/durations.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { ROOT_UID } from '../core/kill.js';
import { parseDockerSize } from '../core/sizes.js';
import {
  activityNames,
  activityPaths,
  defaultDropDir,
  readActivities,
  readActivity,
  removeActivityState,
  writeActivity,
} from './activity-store.js';
import type { HostSession } from './host-session.js';
import { scriptCommand } from './job-spec.js';
import { loadProject } from './project.js';

export interface AddActivityOptions {
  rpHome: string;
  name: string;
  project: string;
  script: string;
  gpus?: number;
  cpus?: number;
  memoryGb?: number;
  time?: string;
  accept?: string;
  maxSize?: string;
  keepInput: boolean;
  stableSeconds?: number;
  dropDir?: string;
  caller: { name: string; uid: number };
  now: Date;
}

const DROP_MODE = 0o1733;
const WORK_MODE = 0o700;
const FAILED_MODE = 0o711;
const STATE_MODE = 0o755;

export function requireRoot(caller: { uid: number }, what: string): void {
  if (caller.uid !== ROOT_UID) {
    throw new ConfigError(`${what} needs root: it serves files and starts jobs for every user`, {
      hint: `run it with sudo`,
    });
  }
}

export async function addActivity(options: AddActivityOptions): Promise<Activity> {
  requireRoot(options.caller, '"rp activity add"');
  const { rpHome, name } = options;
  if (!ACTIVITY_NAME.test(name)) {
    throw new UsageError(`"${name}" is not an activity name`, {
      hint: 'use lowercase letters, digits and "-", starting with a letter (at most 32)',
    });
  }
  if ((await activityNames(rpHome)).includes(name)) {
    throw new UsageError(`the activity "${name}" exists already`, {
      hint: `"rp activity show ${name}" shows it; remove it first to define it again`,
    });
  }
  const activity = await checkedActivity(options);
  await checkDropDirFree(rpHome, activity.dropDir);
  const paths = activityPaths(rpHome, name);
  await makeDir(dirname(paths.dir), STATE_MODE);
  await makeDir(paths.dir, STATE_MODE);
  await makeDir(paths.work, WORK_MODE);
  await makeDir(paths.failed, FAILED_MODE);
  await makeDir(dirname(activity.dropDir), STATE_MODE, { parents: true });
  await makeDir(activity.dropDir, DROP_MODE);
  try {
    await checkSameFileSystem(activity.dropDir, paths.work);
    await writeActivity(rpHome, activity);
  } catch (error) {
    await removeActivityState(rpHome, name);
    await rmdir(activity.dropDir).catch(() => undefined);
    throw error;
  }
  return activity;
}

/** The definition from the flags, every field checked; the project and its script must exist. */
async function checkedActivity(options: AddActivityOptions): Promise<Activity> {
  const projectDir = resolve(options.project);
  const project = await loadProject(projectDir);
  if (project.root !== projectDir) {
    throw new UsageError(`--project ${projectDir} is inside the rp project ${project.root}`, {
      hint: `give --project ${project.root}`,
    });
  }
  await scriptCommand(project, project.root, splitCommandLine(options.script));
  if (options.time !== undefined && parseTimeLimit(options.time) === undefined) {
    throw new UsageError(`--time "${options.time}" is not a length of time`, {
      hint: `write ${DURATION_FORMS}`,
    });
  }
  let maxSizeBytes: number | undefined;
  if (options.maxSize !== undefined) {
    maxSizeBytes = parseDockerSize(options.maxSize);
    if (maxSizeBytes === undefined || maxSizeBytes <= 0) {
      throw new UsageError(`--max-size "${options.maxSize}" is not a size such as 2G or 500M`);
    }
  }
  const accept = options.accept === undefined ? undefined : parseAcceptList(options.accept);
  const request = {
    ...(options.gpus === undefined ? {} : { gpus: options.gpus }),
    ...(options.cpus === undefined ? {} : { cpus: options.cpus }),
    ...(options.memoryGb === undefined ? {} : { memoryGb: options.memoryGb }),
  };
  return {
    name: options.name,
    project: project.root,
    script: options.script,
    request,
    ...(options.time === undefined ? {} : { time: options.time }),
    ...(accept === undefined ? {} : { accept }),
    ...(maxSizeBytes === undefined ? {} : { maxSizeBytes }),
    keepInput: options.keepInput,
    stableSeconds: options.stableSeconds ?? DEFAULT_STABLE_SECONDS,
    dropDir: resolve(options.dropDir ?? defaultDropDir(options.rpHome, options.name)),
    createdAt: options.now.toISOString(),
    createdBy: options.caller.name,
  };
}

async function checkDropDirFree(rpHome: string, dropDir: string): Promise<void> {
  const other = (await readActivities(rpHome)).find((activity) => activity.dropDir === dropDir);
  if (other) throw new UsageError(`${dropDir} is already the drop folder of "${other.name}"`);
  const stats = await lstat(dropDir).catch(() => undefined);
  if (stats === undefined) return;
  if (!stats.isDirectory()) {
    throw new UsageError(`--drop-dir ${dropDir} exists and is not a folder`);
  }
  if ((await readdir(dropDir)).length > 0) {
    throw new UsageError(`--drop-dir ${dropDir} is not empty`, {
      hint: 'give an empty or new folder: every file in it would become a job',
    });
  }
}

/** A file is claimed by renaming it into the work area, which works only on one file system. */
async function checkSameFileSystem(dropDir: string, work: string): Promise<void> {
  const [drop, claimed] = await Promise.all([stat(dropDir), stat(work)]);
  if (drop.dev !== claimed.dev) {
    throw new UsageError(
      `--drop-dir ${dropDir} is on another file system than ${work}, where files are claimed`,
      { hint: 'choose a drop folder on the file system of $RP_HOME' },
    );
  }
}

/** Makes `dir` owned by root with exactly `mode` (mkdir applies the umask; chmod does not). */
async function makeDir(
  dir: string,
  mode: number,
  options: { parents?: boolean } = {},
): Promise<void> {
  await mkdir(dir, { mode, recursive: options.parents === true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  const stats = await lstat(dir);
  if (!stats.isDirectory()) throw new ConfigError(`${dir} is not a folder`);
  if (options.parents === true) return;
  await chown(dir, 0, 0);
  await chmod(dir, mode);
}

export interface RemoveActivityOptions {
  session: HostSession;
  name: string;
  caller: { uid: number };
}

/**
 * Removes an activity with its folders. Refused while any of its jobs is live or any user's file
 * is still in its folders: nothing a user dropped is ever deleted by removing an activity.
 */
export async function removeActivity(options: RemoveActivityOptions): Promise<Activity> {
  requireRoot(options.caller, '"rp activity remove"');
  const { session, name } = options;
  const activity = await readActivity(session.rpHome, name);
  const live = (await session.store.read()).jobs.filter((job) => job.activity?.name === name);
  if (live.length > 0) {
    throw new ConfigError(`the activity "${name}" has ${live.length} live job(s)`, {
      hint: `wait for them or end them with "rp kill ${live[0]?.id ?? ''}"`,
    });
  }
  const paths = activityPaths(session.rpHome, name);
  for (const [dir, what] of [
    [activity.dropDir, 'drop folder'],
    [paths.work, 'work area'],
    [paths.failed, 'failed folder'],
  ] as const) {
    const left = await readdir(dir).catch(() => [] as string[]);
    if (left.length > 0) {
      throw new ConfigError(`the ${what} ${dir} still holds ${left.length} file(s)`, {
        hint: "move them away (they are users' files) and remove the activity again",
      });
    }
  }
  await rmdir(activity.dropDir).catch(() => undefined);
  await removeActivityState(session.rpHome, name);
  return activity;
}
