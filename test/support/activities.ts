/**
 * What the drop-folder tests share: the places of an activity under a host's $RP_HOME, a shell
 * as a real user, and the history records of an activity's jobs.
 */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readHistory, until, type HistoryRecord } from './rp-project.js';
import type { UnixUser } from './unix-user.js';

/** A history record of a drop-folder job. */
export type ActivityRecord = HistoryRecord & {
  user: string;
  uid: number;
  activity?: { name: string; input: string };
};

/** Runs a bash script as `user`; never rejects (read its exitCode). */
export function shellAs(user: UnixUser, script: string) {
  return execa('runuser', ['-u', user.name, '--', 'bash', '-c', script], { reject: false });
}

/** The output folder of a job: ~/rp-output/<activity>/<stem>-<id>. */
export function activityOutput(user: UnixUser, activity: string, stem: string, job: string) {
  return join('/home', user.name, 'rp-output', activity, `${stem}-${job}`);
}

/** The count.txt that the word-counting activity `activity` wrote for `stem`'s job. */
export function countOf(user: UnixUser, activity: string, stem: string, job: string) {
  return readFile(join(activityOutput(user, activity, stem, job), 'count.txt'), 'utf8');
}

/** The activities of the host whose $RP_HOME is `rpHome()` (read when called). */
export function activityHost(rpHome: () => string) {
  const records = async (activity: string): Promise<ActivityRecord[]> =>
    ((await readHistory(rpHome())) as ActivityRecord[]).filter(
      (record) => record.activity?.name === activity,
    );
  return {
    dropDir: (activity: string): string => join(rpHome(), 'drop', activity),
    failedDir: (activity: string): string => join(rpHome(), 'activities', activity, 'failed'),
    records,
    /** The record of the job of `input`, once it has ended (90 s at most). */
    endedJob: (activity: string, input: string): Promise<ActivityRecord> =>
      until(
        `the ${activity} job of ${input} to end`,
        async () => (await records(activity)).find((record) => record.activity?.input === input),
        90_000,
      ),
  };
}
