/**
 * Where activities live: `$RP_HOME/activities/<name>/activity.json` (the definition, readable by
 * all), `work/` (claimed inputs, root only), `failed/` (refused files with their reasons) and
 * `failures.jsonl` (the last refusals and failed jobs, for `rp activity status`). The drop folder
 * is named in the definition: `$RP_HOME/drop/<name>` unless the admin chose another.
 */
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { activitySchema, ACTIVITY_NAME, type Activity } from '../core/activities.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { toConfigError } from '../ledger/fs-errors.js';

export interface ActivityPaths {
  dir: string;
  file: string;
  work: string;
  failed: string;
  failures: string;
}

export function activitiesDir(rpHome: string): string {
  return join(rpHome, 'activities');
}

export function activityPaths(rpHome: string, name: string): ActivityPaths {
  const dir = join(activitiesDir(rpHome), name);
  return {
    dir,
    file: join(dir, 'activity.json'),
    work: join(dir, 'work'),
    failed: join(dir, 'failed'),
    failures: join(dir, 'failures.jsonl'),
  };
}

export function defaultDropDir(rpHome: string, name: string): string {
  return join(rpHome, 'drop', name);
}

export async function readActivity(rpHome: string, name: string): Promise<Activity> {
  if (!ACTIVITY_NAME.test(name)) {
    throw new UsageError(`"${name}" is not an activity name`, {
      hint: 'activity names are lowercase letters, digits and "-"; "rp activity list" shows them',
    });
  }
  const { file } = activityPaths(rpHome, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const known = await activityNames(rpHome);
      throw new UsageError(`there is no activity "${name}" on this host`, {
        hint: known.length === 0 ? 'none is defined yet' : `activities: ${known.join(', ')}`,
      });
    }
    throw toConfigError(error, file, 'read');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file} is not valid JSON`, {
      hint: 'remove and add the activity again',
    });
  }
  const parsed = activitySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`, {
      hint: 'remove and add the activity again',
    });
  }
  return parsed.data;
}

export async function activityNames(rpHome: string): Promise<string[]> {
  try {
    const entries = await readdir(activitiesDir(rpHome), { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && ACTIVITY_NAME.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw toConfigError(error, activitiesDir(rpHome), 'read');
  }
}

/** Every activity of the host, by name; `names` narrows them (each must exist). */
export async function readActivities(rpHome: string, names?: string[]): Promise<Activity[]> {
  const chosen = names ?? (await activityNames(rpHome));
  return Promise.all(chosen.map((name) => readActivity(rpHome, name)));
}

export async function writeActivity(rpHome: string, activity: Activity): Promise<void> {
  const { file } = activityPaths(rpHome, activity.name);
  try {
    await writeFileAtomic(file, `${JSON.stringify(activity, null, 2)}\n`, { mode: 0o644 });
  } catch (error) {
    throw toConfigError(error, file, 'write');
  }
}

export async function removeActivityState(rpHome: string, name: string): Promise<void> {
  await rm(activityPaths(rpHome, name).dir, { recursive: true, force: true });
}

/** One line of `failures.jsonl`: a refused file or a failed job. */
export interface ActivityFailure {
  at: string;
  user: string;
  input: string;
  reason: string;
  /** The job's id when a job ran. */
  job?: string;
}

export async function recordFailure(
  rpHome: string,
  activity: string,
  failure: ActivityFailure,
): Promise<void> {
  const { failures } = activityPaths(rpHome, activity);
  await appendFile(failures, `${JSON.stringify(failure)}\n`, { mode: 0o644 });
}

/** The last `count` failures of an activity, newest last. */
export async function lastFailures(
  rpHome: string,
  activity: string,
  count: number,
): Promise<ActivityFailure[]> {
  let text: string;
  try {
    text = await readFile(activityPaths(rpHome, activity).failures, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.slice(-count).flatMap((line) => {
    try {
      return [JSON.parse(line) as ActivityFailure];
    } catch {
      return [];
    }
  });
}
