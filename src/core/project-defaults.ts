/**
 * The resources `rp init` writes into .rp/info.json when no flag names them. The standard defaults
 * (1 GPU, 4 cores, 16 GB) suit a GPU server; on a machine without GPUs, or with fewer cores or
 * less memory, a project made with them could never run a job there. So each default is cut to
 * what the host has, and a note says so. A flag always wins over the host.
 */
import { autoMemoryReserveMb } from './host-config.js';
import { formatMemory, MB_PER_GB } from './units.js';

export const STANDARD_RESOURCES = { cpu: 4, gpus: 1, memory: 16, docker_shm: '4g' } as const;

/** What the host has, as `rp init` found it. */
export interface InitHost {
  gpuCount: number;
  cpuCount: number;
  memoryTotalMb: number;
}

/** The resource flags of `rp init`; memory in GB. */
export interface ResourceFlags {
  cpu?: number;
  gpus?: number;
  memory?: number;
  shm?: string;
}

export interface ResourceDefaults {
  cpu: number;
  gpus: number;
  memory: number;
  docker_shm: string;
  /** One line per default cut to fit the host, for the user to read. */
  notes: string[];
}

/** The smallest memory default: a job needs some memory even on a tiny machine. */
const MIN_MEMORY_GB = 0.5;

/**
 * The flags, and for each resource without one the standard default cut to fit `host`
 * (undefined: not looked at, because every flag was given).
 */
export function projectResources(
  flags: ResourceFlags,
  host: InitHost | undefined,
): ResourceDefaults {
  const notes: string[] = [];
  let gpus = flags.gpus ?? STANDARD_RESOURCES.gpus;
  if (flags.gpus === undefined && host !== undefined && host.gpuCount === 0) {
    gpus = 0;
    notes.push('no GPU found on this host: jobs default to 0 GPUs (--gpu N to change)');
  }

  let cpu = flags.cpu ?? STANDARD_RESOURCES.cpu;
  if (flags.cpu === undefined && host !== undefined && host.cpuCount < cpu) {
    cpu = Math.max(1, host.cpuCount);
    notes.push(
      `this host has ${host.cpuCount} CPU cores: jobs default to ${cpu} (--cpu N to change)`,
    );
  }

  let memory = flags.memory ?? STANDARD_RESOURCES.memory;
  let docker_shm = flags.shm ?? STANDARD_RESOURCES.docker_shm;
  if (flags.memory === undefined && host !== undefined) {
    // What `rp host init` would lend to jobs: the memory less the system's reserve.
    const forJobsMb = host.memoryTotalMb - autoMemoryReserveMb(host.memoryTotalMb);
    const fitting = Math.max(MIN_MEMORY_GB, Math.floor((forJobsMb / MB_PER_GB) * 2) / 2);
    if (fitting < memory) {
      memory = fitting;
      // /dev/shm is memory too: at most half of the job's.
      if (flags.shm === undefined) docker_shm = shmFor(memory);
      notes.push(
        `this host has ${formatMemory(Math.max(forJobsMb, 0))} of memory for jobs: ` +
          `jobs default to ${memory} GB (--mem GB to change), ${docker_shm} shm`,
      );
    }
  }
  return { cpu, gpus, memory, docker_shm, notes };
}

/** Half of `memoryGb`, capped at the standard shm, as Docker writes sizes ("1g", "768m"). */
function shmFor(memoryGb: number): string {
  const mb = Math.min(4 * MB_PER_GB, Math.floor((memoryGb * MB_PER_GB) / 2));
  return mb % MB_PER_GB === 0 ? `${mb / MB_PER_GB}g` : `${mb}m`;
}
