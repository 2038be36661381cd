/**
 * The Docker create options of a job's container, computed from what the scheduler granted.
 * Pure, so the exact limits, mounts and device requests are unit-tested without an engine.
 */
import type { ContainerCreateOptions } from 'dockerode';
import type { Grant, JobEntry } from '../core/ledger-state.js';
import { jobContainerName } from '../core/naming.js';
import { jobLabels } from './labels.js';

export interface Mount {
  source: string;
  target: string;
  /** The job may read it and not change it (a drop-folder job's input, its activity's project). */
  readOnly?: boolean;
}

export interface JobContainerSpec {
  /** The host directory whose ledger holds the job. */
  rpHome: string;
  job: JobEntry;
  grant: Grant;
  /**
   * The granted GPUs as the NVIDIA runtime names them: UUIDs where known, else indices (see
   * gpuDeviceIds in src/core/gpu-devices.ts). Empty: the job sees no GPU at all. Absent: the
   * grant's indices.
   */
  gpuDevices?: readonly string[];
  /**
   * A few random characters that make the container's name unique to this job, so a container
   * left over from an earlier job with the same reused id never blocks this one.
   */
  nameSuffix?: string;
  image: string;
  /** The argument vector run after the image's entrypoint (which sources the bashhook). */
  command: string[];
  user: { uid: number; gid: number };
  /** The user's supplementary group ids, so group-readable data mounted from paths.json reads. */
  groups?: readonly number[];
  workingDir: string;
  mounts: readonly Mount[];
  shmBytes: number;
  /** `rp enter`: a terminal and an open stdin. */
  interactive: boolean;
  env?: Record<string, string>;
  /** A limited job's deadline: on its labels, and RP_DEADLINE (epoch seconds) in its env. */
  deadline?: Date;
}

export function toCreateOptions(spec: JobContainerSpec): ContainerCreateOptions {
  const { grant } = spec;
  const memoryBytes = grant.memoryMb * 1024 * 1024;
  const devices = [...(spec.gpuDevices ?? grant.gpus.map(String))];
  const env = {
    ...spec.env,
    // The NVIDIA runtime reads this variable, and CUDA base images set it to "all": with Docker's
    // default-runtime nvidia a job without a device request would otherwise see every GPU. "void"
    // hides them all; a GPU job is told exactly its own, by UUID, as its device request says.
    NVIDIA_VISIBLE_DEVICES: devices.length > 0 ? devices.join(',') : 'void',
    ...(spec.deadline ? { RP_DEADLINE: String(Math.floor(spec.deadline.getTime() / 1000)) } : {}),
  };
  return {
    name: jobContainerName(spec.job, spec.nameSuffix ?? ''),
    Image: spec.image,
    Cmd: spec.command,
    User: `${spec.user.uid}:${spec.user.gid}`,
    WorkingDir: spec.workingDir,
    Labels: jobLabels(spec.job, grant, spec.rpHome, spec.deadline),
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Tty: spec.interactive,
    OpenStdin: spec.interactive,
    StdinOnce: spec.interactive,
    AttachStdin: spec.interactive,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: spec.mounts.map(
        (mount) => `${mount.source}:${mount.target}${mount.readOnly === true ? ':ro' : ''}`,
      ),
      // Pinned cores rather than a CPU quota: a job gets whole cores to itself, the same
      // exclusivity as its GPUs, and no neighbour's threads share its caches.
      CpusetCpus: grant.cpus.join(','),
      Memory: memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: memoryBytes,
      ShmSize: spec.shmBytes,
      // By UUID where known: a GPU falling off the bus renumbers the others, and an index would
      // then name someone else's card.
      DeviceRequests:
        devices.length > 0
          ? [{ Driver: 'nvidia', DeviceIDs: devices, Capabilities: [['gpu']] }]
          : [],
      // `User` gives the container only the primary gid; with the user's other host groups too,
      // a group-readable dataset is as readable in the job as it is on the host.
      GroupAdd: (spec.groups ?? []).filter((gid) => gid !== spec.user.gid).map(String),
      // docker-init reaps zombies and forwards signals to the job.
      Init: true,
      AutoRemove: false,
    },
  };
}
