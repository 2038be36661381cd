/**
 * How a job's granted GPUs are named to the NVIDIA runtime. The scheduler grants GPUs by index;
 * the container is told their UUIDs, because indices shift when a GPU falls off the bus (an
 * Xid error, a reset) and an index would then name someone else's card. A GPU whose UUID the
 * host does not know (a config that lists only indices) is named by its index.
 */
import type { GpuInfo } from './host-config.js';

export function gpuDeviceIds(granted: readonly number[], hostGpus: readonly GpuInfo[]): string[] {
  const byIndex = new Map(hostGpus.map((gpu) => [gpu.index, gpu]));
  return granted.map((index) => byIndex.get(index)?.uuid ?? String(index));
}
