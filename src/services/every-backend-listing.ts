/**
 * `rp ps` and `rp queue` over every backend, so that the commands never ask which: this
 * machine's jobs (with grants and what each waits for), then those of the host config's other
 * backend (a Slurm cluster), listed through the Backend interface in one poll. Kept apart from
 * job-routing.ts so that a listing loads nothing of kill or logs.
 */
import { backendListing, type BackendJobListing } from './backend-jobs.js';
import { configuredBackend } from './backends/select.js';
import type { HostSession } from './host-session.js';
import {
  hostStatus,
  queueStatus,
  type HostStatus,
  type ListingOptions,
  type QueueView,
} from './job-status.js';

/** A listing of this machine, and of the host config's other backend where there is one. */
export interface EveryBackend<View> {
  view: View;
  elsewhere: BackendJobListing | undefined;
}

/** `rp ps`: this machine's capacity, use, jobs and queue, then the other backend's jobs. */
export async function statusOfEveryBackend(
  session: HostSession,
  now: Date,
  options: ListingOptions,
): Promise<EveryBackend<HostStatus>> {
  const view = await hostStatus(session, now, options);
  const { backend } = await configuredBackend(session.rpHome);
  return { view, elsewhere: await backendListing(backend, now) };
}

/** `rp queue`: this machine's queue, then the jobs waiting on the other backend. */
export async function queueOfEveryBackend(
  session: HostSession,
  now: Date,
  options: ListingOptions,
): Promise<EveryBackend<QueueView>> {
  const view = await queueStatus(session, now, options);
  const { backend } = await configuredBackend(session.rpHome);
  return { view, elsewhere: await backendListing(backend, now, { queuedOnly: true }) };
}
