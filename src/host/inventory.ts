/**
 * What this machine has: GPUs (from nvidia-smi), CPU cores and memory (from the OS), and the
 * groups an admin sets the host directory up with. Detection never fails and never hangs: a
 * machine without a working nvidia-smi simply has no GPUs for rp.
 */
import { readFile } from 'node:fs/promises';
import { cpus, availableParallelism, totalmem } from 'node:os';
import createDebug from 'debug';
import type { GpuInfo, HostInventory } from '../core/host-config.js';
import type { GpuDetection } from '../core/stored-inventory.js';
import { ProgramNotFoundError, runProgram, type ExecResult } from './exec.js';

const debug = createDebug('rp:host');

/** nvidia-smi can take a second or two on a machine with many GPUs; a stuck driver takes forever. */
export const DEFAULT_GPU_TIMEOUT_MS = 5_000;

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,uuid,name,memory.total',
  '--format=csv,noheader,nounits',
] as const;

export type ProgramRunner = (
  program: string,
  args: readonly string[],
  options: { timeoutMs: number },
) => Promise<ExecResult>;

export interface GpuDetectOptions {
  /** The program to run; found on PATH unless a path is given. */
  nvidiaSmi?: string;
  timeoutMs?: number;
  /** How to run it; tests pass their own to check the timeout without a real stuck driver. */
  run?: ProgramRunner;
}

/**
 * The GPUs nvidia-smi lists, or none when it is missing, fails, prints nothing useful or does not
 * answer within the timeout.
 */
export async function detectGpus(options: GpuDetectOptions = {}): Promise<GpuInfo[]> {
  const detection = await probeGpus(options);
  return detection.kind === 'ok' ? detection.gpus : [];
}

/**
 * Asks nvidia-smi, telling an answer apart from no answer: a missing nvidia-smi is `absent`, while
 * a timeout or a failing nvidia-smi says nothing about the GPUs (`failed`), so that the stored
 * inventory is never shrunk by a driver that was slow to answer.
 */
export async function probeGpus(options: GpuDetectOptions = {}): Promise<GpuDetection> {
  const program = options.nvidiaSmi ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? DEFAULT_GPU_TIMEOUT_MS;
  const run = options.run ?? runProgram;
  debug('detecting GPUs with %s…', program);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // runProgram kills nvidia-smi at the timeout but then waits for its output pipes to close; a
  // child it left behind (or a process stuck in the driver, which ignores signals) keeps them
  // open. Our own timer makes sure detection itself returns.
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs + 250);
  });
  try {
    const result = await Promise.race([run(program, NVIDIA_SMI_ARGS, { timeoutMs }), deadline]);
    if (result === 'timeout' || result.timedOut === true) {
      debug('%s did not answer within %d ms', program, timeoutMs);
      return { kind: 'failed', reason: `${program} did not answer within ${timeoutMs / 1000} s` };
    }
    if (result.exitCode !== 0) {
      debug('%s exited with %d (%s)', program, result.exitCode, result.stderr.trim());
      return {
        kind: 'failed',
        reason: `${program} exited with ${result.exitCode}: ${firstLine(result.stderr)}`,
      };
    }
    const gpus = parseNvidiaSmiCsv(result.stdout);
    debug('detected %d GPU(s)', gpus.length);
    return { kind: 'ok', gpus };
  } catch (error) {
    if (error instanceof ProgramNotFoundError) {
      debug('%s is not installed', program);
      return { kind: 'absent' };
    }
    debug('running %s failed: %s', program, (error as Error).message);
    return { kind: 'failed', reason: `${program} could not run: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`:
 * one line per GPU, "0, GPU-5f1c..., NVIDIA H100 80GB HBM3, 81559". A line that does not parse is
 * skipped rather than failing detection; a memory of "[N/A]" is left out.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 4) continue;
    const index = Number(fields[0]);
    if (fields[0] === '' || !Number.isInteger(index) || index < 0) continue;
    // The name is the middle: a comma inside it (no current GPU has one) must not shift memory.
    const uuid = fields[1] ?? '';
    const memoryText = fields[fields.length - 1] ?? '';
    const name = fields.slice(2, -1).join(', ');
    const gpu: GpuInfo = { index };
    if (uuid !== '' && uuid !== '[N/A]') gpu.uuid = uuid;
    if (name !== '' && name !== '[N/A]') gpu.name = name;
    const memoryMb = Number(memoryText);
    if (memoryText !== '' && Number.isInteger(memoryMb) && memoryMb > 0) gpu.memoryMb = memoryMb;
    gpus.push(gpu);
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/**
 * All logical CPUs of the machine. Containers get cores through Docker's daemon, which is not
 * bound by this process's CPU affinity, so os.cpus() (all online CPUs) is right, not the
 * affinity-aware availableParallelism(); the latter is only the fallback for the rare systems where
 * os.cpus() comes back empty.
 */
export function detectCpuCount(): number {
  const count = cpus().length;
  return count > 0 ? count : availableParallelism();
}

/** Total memory of the machine in whole MiB. */
export function detectMemoryTotalMb(): number {
  return Math.floor(totalmem() / (1024 * 1024));
}

export interface InventoryOptions {
  /** Run nvidia-smi. False when the config lists GPUs explicitly and nobody asked to compare. */
  gpus: boolean;
  gpu?: GpuDetectOptions;
}

/** What the machine has, as data for resolveHostConfig. */
export async function detectInventory(options: InventoryOptions): Promise<HostInventory> {
  const inventory: HostInventory = {
    cpuCount: detectCpuCount(),
    memoryTotalMb: detectMemoryTotalMb(),
  };
  if (options.gpus) inventory.gpus = await detectGpus(options.gpu);
  return inventory;
}

export interface GroupInfo {
  name: string;
  gid: number;
}

/**
 * The group named `name`, or undefined if the host has none. Asks getent so groups from LDAP or
 * sssd count; falls back to /etc/group where getent is missing (minimal containers).
 */
export async function lookupGroup(name: string): Promise<GroupInfo | undefined> {
  try {
    const result = await runProgram('getent', ['group', name], { timeoutMs: 5_000 });
    // Exit code 2: no such group. Anything else unexpected: fall through to /etc/group.
    if (result.exitCode === 2) return undefined;
    if (result.exitCode === 0) {
      const group = parseGroupLine(result.stdout.trim().split('\n')[0] ?? '', name);
      if (group !== undefined) return group;
    }
  } catch (error) {
    if (!(error instanceof ProgramNotFoundError)) throw error;
  }
  let text: string;
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const group = parseGroupLine(line, name);
    if (group !== undefined) return group;
  }
  return undefined;
}

/** "docker:x:105:alice,bob" → { name: "docker", gid: 105 } when the name matches. */
export function parseGroupLine(line: string, name: string): GroupInfo | undefined {
  const [groupName, , gidText] = line.split(':');
  if (groupName !== name || gidText === undefined || !/^\d+$/.test(gidText)) return undefined;
  return { name, gid: Number(gidText) };
}
