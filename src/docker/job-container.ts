/**
 * The Docker create options of a job's container, computed from what the scheduler granted.
 * Pure, so the exact limits, mounts and device requests are unit-tested without an engine.
 */
import type { ContainerCreateOptions } from 'dockerode';
import type { Grant, JobEntry } from '../core/ledger-state.js';
import { jobName } from '../core/naming.js';
import { jobLabels } from './labels.js';

export interface Mount {
  source: string;
  target: string;
}

export interface JobContainerSpec {
  /** The host directory whose ledger holds the job. */
  rpHome: string;
  job: JobEntry;
  grant: Grant;
  image: string;
  /** The argument vector run after the image's entrypoint (which sources the bashhook). */
  command: string[];
  user: { uid: number; gid: number };
  workingDir: string;
  mounts: readonly Mount[];
  shmBytes: number;
  /** `rp enter`: a terminal and an open stdin. */
  interactive: boolean;
  env?: Record<string, string>;
}

export function toCreateOptions(spec: JobContainerSpec): ContainerCreateOptions {
  const { grant } = spec;
  const memoryBytes = grant.memoryMb * 1024 * 1024;
  return {
    name: jobName(spec.job.id),
    Image: spec.image,
    Cmd: spec.command,
    User: `${spec.user.uid}:${spec.user.gid}`,
    WorkingDir: spec.workingDir,
    Labels: jobLabels(spec.job, grant, spec.rpHome),
    Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Tty: spec.interactive,
    OpenStdin: spec.interactive,
    StdinOnce: spec.interactive,
    AttachStdin: spec.interactive,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: spec.mounts.map((mount) => `${mount.source}:${mount.target}`),
      // Pinned cores rather than a CPU quota: a job gets whole cores to itself, the same
      // exclusivity as its GPUs, and no neighbour's threads share its caches.
      CpusetCpus: grant.cpus.join(','),
      Memory: memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: memoryBytes,
      ShmSize: spec.shmBytes,
      DeviceRequests:
        grant.gpus.length > 0
          ? [{ Driver: 'nvidia', DeviceIDs: grant.gpus.map(String), Capabilities: [['gpu']] }]
          : [],
      // docker-init reaps zombies and forwards signals to the job.
      Init: true,
      AutoRemove: false,
    },
  };
}
