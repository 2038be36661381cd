/**
 * The machine's inventory as the host stores it ($RP_HOME/inventory.json): detected once per host
 * (by `rp host init`, `rp host refresh`, and by the first rp command after config.json changes)
 * and then used by every process, so no two processes ever schedule with different ideas of what
 * the machine has. Pure: parsing, and the rule for merging a new detection into what is stored.
 */
import * as z from './zod.js';
import { ConfigError } from './errors.js';
import type { GpuInfo, HostInventory } from './host-config.js';

export const INVENTORY_VERSION = 1;

export interface StoredInventory {
  version: typeof INVENTORY_VERSION;
  /** ISO time of the detection the figures come from. */
  detectedAt: string;
  cpuCount: number;
  memoryTotalMb: number;
  /** Absent: GPUs were never probed (the config lists them itself). */
  gpus?: GpuInfo[];
  /** The config.json this inventory was made for (see configStamp), to notice an edit. */
  configStamp?: string;
}

/** What asking nvidia-smi gave. */
export type GpuDetection =
  | { kind: 'ok'; gpus: GpuInfo[] }
  /** nvidia-smi is not installed: no GPUs, unless they were seen before (a driver upgrade). */
  | { kind: 'absent' }
  /** It did not answer in time, or failed: says nothing about the GPUs the machine has. */
  | { kind: 'failed'; reason: string }
  /** Not asked (the config lists the GPUs itself). */
  | { kind: 'skipped' };

export interface Detection {
  cpuCount: number;
  memoryTotalMb: number;
  gpus: GpuDetection;
}

const gpuSchema = z.object({
  index: z.number().int().nonnegative(),
  uuid: z.string().min(1).optional(),
  name: z.string().optional(),
  memoryMb: z.number().int().positive().optional(),
});

const storedInventorySchema = z.object({
  version: z.literal(INVENTORY_VERSION),
  detectedAt: z.string().min(1),
  cpuCount: z.number().int().positive(),
  memoryTotalMb: z.number().int().positive(),
  gpus: z.array(gpuSchema).optional(),
  configStamp: z.string().optional(),
});

/** Parses the file's text; a file that does not parse is a ConfigError naming it. */
export function parseStoredInventory(text: string, file: string): StoredInventory {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = storedInventorySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw invalid(file, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return dropUndefinedGpus(parsed.data);
}

function invalid(file: string, detail: string): ConfigError {
  return new ConfigError(`the stored inventory ${file} is not valid: ${detail}`, {
    hint: 'an administrator can make it anew with "sudo rp host refresh"',
  });
}

function dropUndefinedGpus(inventory: StoredInventory): StoredInventory {
  if (inventory.gpus === undefined) return inventory;
  return {
    ...inventory,
    gpus: inventory.gpus.map((gpu) => {
      const clean: GpuInfo = { index: gpu.index };
      if (gpu.uuid !== undefined) clean.uuid = gpu.uuid;
      if (gpu.name !== undefined) clean.name = gpu.name;
      if (gpu.memoryMb !== undefined) clean.memoryMb = gpu.memoryMb;
      return clean;
    }),
  };
}

export function formatStoredInventory(inventory: StoredInventory): string {
  return `${JSON.stringify(inventory, null, 2)}\n`;
}

/**
 * The inventory to store after a new detection. A GPU detection that failed or was skipped keeps
 * the GPUs stored before: a slow or stuck nvidia-smi must never shrink the machine (and so cancel
 * or starve the jobs waiting for those GPUs). A detection that answered is the truth, fewer GPUs
 * included (one fell off the bus). A missing nvidia-smi means no GPUs on a machine that never had
 * any, or when an admin asks (`explicit`: rp host refresh); otherwise it keeps the GPUs seen
 * before (the driver is being reinstalled). `notes` say what changed, for people.
 */
export function mergeDetection(
  stored: StoredInventory | undefined,
  detected: Detection,
  at: Date,
  configStamp: string | undefined,
  explicit = false,
): { inventory: StoredInventory; notes: string[] } {
  const notes: string[] = [];
  const inventory: StoredInventory = {
    version: INVENTORY_VERSION,
    detectedAt: at.toISOString(),
    cpuCount: detected.cpuCount,
    memoryTotalMb: detected.memoryTotalMb,
  };
  const answered =
    detected.gpus.kind === 'ok' ||
    (detected.gpus.kind === 'absent' && (explicit || (stored?.gpus ?? []).length === 0));
  const found = detected.gpus.kind === 'ok' ? detected.gpus.gpus : [];
  const gpus = answered ? found : stored?.gpus;
  if (detected.gpus.kind === 'absent' && !answered) {
    notes.push(
      `nvidia-smi is not installed; kept the ${stored?.gpus?.length ?? 0} GPU(s) found before ` +
        '("rp host refresh" forgets them)',
    );
  } else if (detected.gpus.kind === 'failed') {
    notes.push(
      stored?.gpus === undefined
        ? `GPU detection failed (${detected.gpus.reason}); no GPUs are known yet`
        : `GPU detection failed (${detected.gpus.reason}); kept the ${stored.gpus.length} GPU(s) found before`,
    );
  } else if (answered && stored?.gpus !== undefined) {
    const before = stored.gpus.map(gpuKey).join(' ');
    const after = found.map(gpuKey).join(' ');
    if (before !== after) {
      notes.push(`GPUs changed: ${stored.gpus.length} before, ${found.length} now`);
    }
  }
  if (gpus !== undefined) inventory.gpus = gpus.map((gpu) => ({ ...gpu }));
  if (configStamp !== undefined) inventory.configStamp = configStamp;
  return { inventory, notes };
}

function gpuKey(gpu: GpuInfo): string {
  return `${gpu.index}:${gpu.uuid ?? ''}`;
}

/** The inventory as resolveHostConfig takes it. */
export function toHostInventory(stored: StoredInventory): HostInventory {
  const inventory: HostInventory = {
    cpuCount: stored.cpuCount,
    memoryTotalMb: stored.memoryTotalMb,
  };
  if (stored.gpus !== undefined) inventory.gpus = stored.gpus.map((gpu) => ({ ...gpu }));
  return inventory;
}
