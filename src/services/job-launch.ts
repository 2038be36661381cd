/**
 * From a prepared job to its container: the launch spec (what runs, as whom, with which mounts)
 * and the container made from it with exactly the granted resources. Shared by a foreground
 * `rp run`, which makes its container itself, and the host supervisor, which makes a detached
 * job's from the launch file its submission wrote.
 */
import { join, relative } from 'node:path';
import { homeDirectory } from '../core/dockerfile.js';
import { gpuDeviceIds } from '../core/gpu-devices.js';
import type { LaunchSpec } from '../core/launch-spec.js';
import type { Grant, JobEntry } from '../core/ledger-state.js';
import { jobDeadline } from '../core/time-limits.js';
import type { ContainerRef } from '../docker/engine.js';
import { randomToken } from '../host/ids.js';
import type { HostSession } from './host-session.js';
import { jobMounts, projectMountPoint } from './job-spec.js';
import type { PreparedJob } from './job-submission.js';

/** A launch spec without a log file: a foreground job's output comes to its terminal. */
export type ContainerLaunch = Omit<LaunchSpec, 'logDir'>;

/** What the container of `prepared` runs; `groups` are the submitting user's. */
export function containerLaunchOf(
  prepared: PreparedJob,
  groups: readonly number[],
): ContainerLaunch {
  const { project, image } = prepared;
  return {
    image: image.reference,
    user: { uid: image.user.uid, gid: image.user.gid },
    groups: [...groups],
    command: [...prepared.command],
    workingDir: projectMountPoint(project, image.user),
    mounts: jobMounts(project, image.user),
    shmBytes: prepared.shmBytes,
    // HOME matches where the project and paths.json entries are mounted, for root too.
    env: { HOME: homeDirectory(image.user) },
  };
}

/** The launch spec of a detached job whose output goes to a file in `logDir`, a project folder. */
export function launchSpecOf(
  prepared: PreparedJob,
  groups: readonly number[],
  logDir: string,
): LaunchSpec {
  const launch = containerLaunchOf(prepared, groups);
  const inProject = relative(prepared.project.root, logDir);
  return { ...launch, logDir: { host: logDir, container: join(launch.workingDir, inProject) } };
}

/**
 * Creates (does not start) the container of `job` with its grant. `startAt` is when the job's clock
 * starts, the time it is then marked running with: a limited job's container is told its deadline.
 */
export async function createJobContainerFor(
  session: HostSession,
  job: JobEntry,
  grant: Grant,
  launch: ContainerLaunch,
  options: { interactive: boolean; startAt: Date; command?: string[] },
): Promise<ContainerRef> {
  const policy = await session.policy();
  const deadline = jobDeadline(job, options.startAt);
  return session.engine.createJobContainer({
    rpHome: session.rpHome,
    job,
    grant,
    gpuDevices: gpuDeviceIds(grant.gpus, policy.capacity.gpus),
    nameSuffix: randomToken(3),
    image: launch.image,
    command: options.command ?? launch.command,
    user: launch.user,
    groups: launch.groups,
    workingDir: launch.workingDir,
    mounts: launch.mounts,
    shmBytes: launch.shmBytes,
    interactive: options.interactive,
    env: { ...launch.env, RP_JOB_ID: job.id },
    ...(deadline ? { deadline } : {}),
  });
}
