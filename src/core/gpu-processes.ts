/**
 * GPUs busy outside rp: what `nvidia-smi --query-compute-apps` lists, which of those processes are
 * rp jobs' and which are not, and what the scheduler must keep away from. Pure: parsing the
 * program's text, parsing /proc text, and judging an observation against the ledger. The
 * observation itself is made by src/host/gpu-processes.ts and stored by
 * src/services/gpu-observation.ts.
 */
import type { GpuInfo } from './host-config.js';
import type { LedgerState } from './ledger-state.js';
import { formatMemory } from './units.js';

/** What rp asks nvidia-smi for each compute process: the GPU, the process and its memory. */
export const COMPUTE_APPS_ARGS = [
  '--query-compute-apps=gpu_uuid,pid,used_memory',
  '--format=csv,noheader,nounits',
] as const;

/** The GPU figures `rp top` shows: index and uuid to match, then utilisation and memory. */
export const GPU_STATS_ARGS = [
  '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
] as const;

/** How the scheduler treats a GPU that a process outside rp uses (config.json `gpus.unmanaged`). */
export type UnmanagedGpuPolicy = 'avoid' | 'ignore';
export const DEFAULT_UNMANAGED_GPU_POLICY: UnmanagedGpuPolicy = 'avoid';

/** One line of the compute-apps query. */
export interface ComputeApp {
  gpuUuid: string;
  pid: number;
  /** MiB; absent where the driver cannot say ("[N/A]" on MIG or WDDM). */
  usedMemoryMb?: number;
}

/**
 * Parses `nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits`:
 * "GPU-ae3738d5-9aa2-e1c9-53be-65b6d373d3d9, 10525, 1542" per process, nothing at all when no
 * process uses a GPU. A row nvidia-smi could not read ("[Insufficient Permissions]" for the pid,
 * seen with MIG inside containers) or a malformed one is skipped; the others still count.
 */
export function parseComputeApps(text: string): ComputeApp[] {
  const apps: ComputeApp[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 3) continue;
    const [uuid = '', pidText = '', memoryText = ''] = fields;
    if (!uuid.startsWith('GPU-') && !uuid.startsWith('MIG-')) continue;
    if (!/^\d+$/.test(pidText)) continue;
    const app: ComputeApp = { gpuUuid: uuid, pid: Number(pidText) };
    if (/^\d+$/.test(memoryText)) app.usedMemoryMb = Number(memoryText);
    apps.push(app);
  }
  return apps;
}

/** One GPU's figures, from the GPU_STATS_ARGS query. */
export interface GpuStats {
  index: number;
  uuid?: string;
  /** Percent; absent when the GPU does not report it ("[N/A]" in MIG mode). */
  utilizationPercent?: number;
  memoryUsedMb?: number;
  memoryTotalMb?: number;
}

/** Parses "0, GPU-5f1c..., 87, 40123, 81559" lines; unreadable fields are left out. */
export function parseGpuStats(text: string): GpuStats[] {
  const stats: GpuStats[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 5 || !/^\d+$/.test(fields[0] ?? '')) continue;
    const [indexText = '', uuid = '', util = '', used = '', total = ''] = fields;
    const entry: GpuStats = { index: Number(indexText) };
    if (uuid.startsWith('GPU-')) entry.uuid = uuid;
    if (/^\d+$/.test(util)) entry.utilizationPercent = Number(util);
    if (/^\d+$/.test(used)) entry.memoryUsedMb = Number(used);
    if (/^\d+$/.test(total)) entry.memoryTotalMb = Number(total);
    stats.push(entry);
  }
  return stats.sort((a, b) => a.index - b.index);
}

/**
 * The container a process runs in, from the text of /proc/<pid>/cgroup: Docker's 64-hex-digit id
 * in the cgroup path, with either cgroup driver and either cgroup version:
 * "0::/system.slice/docker-<id>.scope" (systemd), "0::/docker/<id>" (cgroupfs),
 * "12:devices:/docker/<id>" (v1). Undefined for a process outside any container.
 */
export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /(?:\/docker[-/])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/.exec(line.trim());
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/** A compute process, with what the host says about it. */
export interface ObservedGpuProcess {
  /** The GPU's index as rp knows it; absent when the uuid is not one of the host's GPUs. */
  gpu?: number;
  gpuUuid: string;
  pid: number;
  memoryMb?: number;
  /** The owner of /proc/<pid>. */
  uid?: number;
  user?: string;
  /** The Docker container it runs in, if any (full id). */
  containerId?: string;
}

/** One look at the GPUs: what nvidia-smi listed, or why it could not be asked. */
export interface GpuObservation {
  /** When it was made (ISO). */
  observedAt: string;
  /** `absent`: no nvidia-smi; `failed`: it failed or did not answer in time. */
  kind: 'ok' | 'failed' | 'absent';
  reason?: string;
  processes: ObservedGpuProcess[];
}

/** The GPU index of each uuid the host knows. */
export function gpuIndexByUuid(gpus: readonly GpuInfo[]): Map<string, number> {
  const byUuid = new Map<string, number>();
  for (const gpu of gpus) if (gpu.uuid !== undefined) byUuid.set(gpu.uuid, gpu.index);
  return byUuid;
}

/** A GPU process no rp job owns: someone's notebook, a `docker run --gpus` of their own. */
export interface UnmanagedProcess {
  gpu: number;
  pid: number;
  user: string;
  memoryMb: number | null;
  containerId: string | null;
}

/**
 * The processes of an observation that are not rp jobs': those outside any container, and those
 * in a container that no job in the ledger runs in. Processes on GPUs rp does not lend are left
 * out (rp has no say there).
 */
export function unmanagedProcesses(
  state: Pick<LedgerState, 'jobs'>,
  observation: GpuObservation | undefined,
): UnmanagedProcess[] {
  if (observation === undefined || observation.kind !== 'ok') return [];
  const jobContainers = new Set(
    state.jobs.flatMap((job) => (job.container === undefined ? [] : [job.container.id])),
  );
  const isJobs = (containerId: string): boolean =>
    [...jobContainers].some((id) => id.startsWith(containerId) || containerId.startsWith(id));
  return observation.processes
    .filter((process) => process.gpu !== undefined)
    .filter((process) => process.containerId === undefined || !isJobs(process.containerId))
    .map((process) => ({
      gpu: process.gpu ?? -1,
      pid: process.pid,
      user: process.user ?? (process.uid === undefined ? 'unknown user' : `uid ${process.uid}`),
      memoryMb: process.memoryMb ?? null,
      containerId: process.containerId ?? null,
    }))
    .sort((a, b) => a.gpu - b.gpu || a.pid - b.pid);
}

/** "unmanaged: alice (pid 4242, 1.5 GB)", for a GPU's processes outside rp. */
export function describeUnmanaged(
  processes: ReadonlyArray<Pick<UnmanagedProcess, 'pid' | 'user' | 'memoryMb'>>,
): string {
  const parts = processes.map((process) => {
    const memory = process.memoryMb === null ? '' : `, ${formatMemory(process.memoryMb)}`;
    return `${process.user} (pid ${process.pid}${memory})`;
  });
  return `unmanaged: ${parts.join(', ')}`;
}

/**
 * The GPUs the scheduler must not grant, with why, under the `avoid` policy: each GPU with a
 * process outside rp on it. Empty under `ignore`, and without an observation.
 */
export function gpusBusyOutsideRp(
  state: Pick<LedgerState, 'jobs'>,
  observation: GpuObservation | undefined,
  policy: UnmanagedGpuPolicy = DEFAULT_UNMANAGED_GPU_POLICY,
): Map<number, string> {
  const busy = new Map<number, string>();
  if (policy === 'ignore') return busy;
  const byGpu = new Map<number, UnmanagedProcess[]>();
  for (const process of unmanagedProcesses(state, observation)) {
    byGpu.set(process.gpu, [...(byGpu.get(process.gpu) ?? []), process]);
  }
  for (const [gpu, processes] of byGpu) busy.set(gpu, describeUnmanaged(processes));
  return busy;
}
