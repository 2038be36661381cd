/**
 * A stand-in `nvidia-smi` for a machine without GPUs: a script in a temporary bin folder, to put
 * first on PATH. It answers rp's inventory query exactly as the real one does (same command line,
 * same CSV: `index, uuid, name, memory.total` without header or units), or hangs like a stuck
 * driver. Any other command line fails as the real one does for an unknown option.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FakeGpu {
  index: number;
  uuid: string;
  name: string;
  memoryMb: number;
}

export const FAKE_GPUS: FakeGpu[] = [
  {
    index: 0,
    uuid: 'GPU-5f1c2a3e-8d4b-4c6a-9e7f-0a1b2c3d4e5f',
    name: 'NVIDIA H100 80GB HBM3',
    memoryMb: 81559,
  },
  {
    index: 1,
    uuid: 'GPU-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    name: 'NVIDIA H100 80GB HBM3',
    memoryMb: 81559,
  },
];

/** The compute-apps query rp makes, exactly as it passes it. */
const COMPUTE_APPS_QUERY =
  '--query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits';
const GPU_STATS_QUERY =
  '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';

/** A compute process as the stand-in reports it. */
export interface FakeGpuProcess {
  gpuUuid: string;
  pid: number;
  usedMemoryMb: number;
}

/**
 * Writes `nvidia-smi` into `dir` (created) and returns a PATH with `dir` first. With `gpus`, it
 * also answers the compute-apps query from `dir/compute-apps.csv` (what setFakeGpuProcesses
 * writes; nothing, as on an idle machine, while it does not exist) and the utilisation query.
 */
export async function installFakeNvidiaSmi(
  dir: string,
  behaviour: { gpus: FakeGpu[] } | { hang: true },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const query = '--query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits';
  const hang = 'hang' in behaviour;
  const answer = hang
    ? 'exec sleep 600'
    : `cat <<'CSV'\n${behaviour.gpus
        .map((gpu) => `${gpu.index}, ${gpu.uuid}, ${gpu.name}, ${gpu.memoryMb}`)
        .join('\n')}\nCSV`;
  const stats = hang
    ? 'exec sleep 600'
    : `cat <<'CSV'\n${behaviour.gpus
        .map((gpu) => `${gpu.index}, ${gpu.uuid}, 0, 0, ${gpu.memoryMb}`)
        .join('\n')}\nCSV`;
  const apps = join(dir, 'compute-apps.csv');
  const script = [
    '#!/bin/sh',
    `if [ "$*" = "${query}" ]; then`,
    answer,
    '  exit 0',
    'fi',
    `if [ "$*" = "${COMPUTE_APPS_QUERY}" ]; then`,
    hang ? '  exec sleep 600' : `  [ -f '${apps}' ] && cat '${apps}'`,
    '  exit 0',
    'fi',
    `if [ "$*" = "${GPU_STATS_QUERY}" ]; then`,
    stats,
    '  exit 0',
    'fi',
    'echo "Invalid combination of input arguments. Please run \'nvidia-smi -h\' for help." >&2',
    'exit 2',
    '',
  ].join('\n');
  const file = join(dir, 'nvidia-smi');
  await writeFile(file, script);
  await chmod(file, 0o755);
  return `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`;
}

/**
 * What the stand-in in `dir` lists as compute processes from now on, in the real one's format:
 * "GPU-<uuid>, <pid>, <MiB>" per line, nothing at all when there are none.
 */
export async function setFakeGpuProcesses(
  dir: string,
  processes: readonly FakeGpuProcess[],
): Promise<void> {
  const lines = processes.map((app) => `${app.gpuUuid}, ${app.pid}, ${app.usedMemoryMb}\n`);
  await writeFile(join(dir, 'compute-apps.csv'), lines.join(''));
}
