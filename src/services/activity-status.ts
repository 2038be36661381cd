/**
 * `rp activity status`: per activity, the files waiting to be complete (only root may list a drop
 * folder), the queued and running jobs, and the last failures.
 */
import { readdir } from 'node:fs/promises';
import { isIgnoredName, type Activity } from '../core/activities.js';
import { jobLabel } from '../core/ledger-state.js';
import { lastFailures, readActivities, type ActivityFailure } from './activity-store.js';
import type { HostSession } from './host-session.js';

export interface ActivityStatus {
  name: string;
  dropDir: string;
  /** Files in the drop folder not claimed yet; null when this user may not list it. */
  waiting: number | null;
  jobs: Array<{ id: string; user: string; input: string; state: string }>;
  failures: ActivityFailure[];
}

export const FAILURES_SHOWN = 5;

export async function activityStatus(
  session: HostSession,
  names?: string[],
): Promise<ActivityStatus[]> {
  const activities = await readActivities(session.rpHome, names);
  const state = await session.store.read();
  return Promise.all(
    activities.map(async (activity: Activity): Promise<ActivityStatus> => {
      const jobs = state.jobs
        .filter((job) => job.activity?.name === activity.name)
        .map((job) => ({
          id: jobLabel(job),
          user: job.user,
          input: job.activity?.input ?? '',
          state: job.state,
        }));
      return {
        name: activity.name,
        dropDir: activity.dropDir,
        waiting: await waitingFiles(activity.dropDir),
        jobs,
        failures: await lastFailures(session.rpHome, activity.name, FAILURES_SHOWN),
      };
    }),
  );
}

async function waitingFiles(dir: string): Promise<number | null> {
  try {
    return (await readdir(dir)).filter((name) => !isIgnoredName(name)).length;
  } catch {
    return null;
  }
}
