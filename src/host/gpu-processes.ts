/**
 * Who uses the GPUs right now: nvidia-smi's compute processes, each traced on this machine to the
 * container it runs in (/proc/<pid>/cgroup) and the user who owns it (/proc/<pid>). Like GPU
 * detection, a look never fails and never hangs: a missing or stuck nvidia-smi is an answer
 * (`absent`, `failed`), given within the timeout.
 */
import { readFile, stat } from 'node:fs/promises';
import createDebug from 'debug';
import {
  COMPUTE_APPS_ARGS,
  containerIdFromCgroup,
  GPU_STATS_ARGS,
  gpuIndexByUuid,
  parseComputeApps,
  parseGpuStats,
  type GpuObservation,
  type GpuStats,
  type ObservedGpuProcess,
} from '../core/gpu-processes.js';
import type { GpuInfo } from '../core/host-config.js';
import { ProgramNotFoundError, runProgram } from './exec.js';
import type { ProgramRunner } from './inventory.js';

const debug = createDebug('rp:host');

/**
 * A look at the GPUs runs while a command waits for it (a submission, `rp ps`): short enough not
 * to be felt, long enough for a busy driver. The real nvidia-smi answers in well under a second.
 */
export const GPU_LOOK_TIMEOUT_MS = 3_000;

export interface GpuLookOptions {
  nvidiaSmi?: string;
  timeoutMs?: number;
  run?: ProgramRunner;
  /** Where /proc is; tests of the tracing pass a folder of their own. */
  procRoot?: string;
}

type Answer =
  { kind: 'ok'; stdout: string } | { kind: 'absent' } | { kind: 'failed'; reason: string };

/** Runs nvidia-smi with `args`, bounded by our own timer as well (see probeGpus). */
async function ask(args: readonly string[], options: GpuLookOptions): Promise<Answer> {
  const program = options.nvidiaSmi ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? GPU_LOOK_TIMEOUT_MS;
  const run = options.run ?? runProgram;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs + 250);
  });
  try {
    const result = await Promise.race([run(program, args, { timeoutMs }), deadline]);
    if (result === 'timeout' || result.timedOut === true) {
      return { kind: 'failed', reason: `${program} did not answer within ${timeoutMs / 1000} s` };
    }
    if (result.exitCode !== 0) {
      const first = result.stderr.trim().split('\n')[0] ?? '';
      return { kind: 'failed', reason: `${program} exited with ${result.exitCode}: ${first}` };
    }
    return { kind: 'ok', stdout: result.stdout };
  } catch (error) {
    if (error instanceof ProgramNotFoundError) return { kind: 'absent' };
    return { kind: 'failed', reason: `${program} could not run: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** The compute processes on the GPUs, each with its GPU index, owner and container. */
export async function observeGpuProcesses(
  gpus: readonly GpuInfo[],
  now: Date,
  options: GpuLookOptions = {},
): Promise<GpuObservation> {
  debug('asking nvidia-smi for the GPUs’ processes…');
  const answer = await ask(COMPUTE_APPS_ARGS, options);
  const observedAt = now.toISOString();
  if (answer.kind === 'absent') return { observedAt, kind: 'absent', processes: [] };
  if (answer.kind === 'failed') {
    debug('no answer: %s', answer.reason);
    return { observedAt, kind: 'failed', reason: answer.reason, processes: [] };
  }
  const byUuid = gpuIndexByUuid(gpus);
  const procRoot = options.procRoot ?? '/proc';
  const names = await userNames();
  const processes = await Promise.all(
    parseComputeApps(answer.stdout).map(async (app): Promise<ObservedGpuProcess> => {
      const process: ObservedGpuProcess = { gpuUuid: app.gpuUuid, pid: app.pid };
      const gpu = byUuid.get(app.gpuUuid);
      if (gpu !== undefined) process.gpu = gpu;
      if (app.usedMemoryMb !== undefined) process.memoryMb = app.usedMemoryMb;
      const uid = await ownerOf(procRoot, app.pid);
      if (uid !== undefined) {
        process.uid = uid;
        const name = names.get(uid) ?? (await lookupUserName(uid));
        if (name !== undefined) process.user = name;
      }
      const containerId = await containerOf(procRoot, app.pid);
      if (containerId !== undefined) process.containerId = containerId;
      return process;
    }),
  );
  debug('%d GPU process(es)', processes.length);
  return { observedAt, kind: 'ok', processes };
}

/** Utilisation and memory of each GPU, for `rp top`; empty when nvidia-smi does not answer. */
export async function readGpuStats(options: GpuLookOptions = {}): Promise<GpuStats[]> {
  const answer = await ask(GPU_STATS_ARGS, options);
  return answer.kind === 'ok' ? parseGpuStats(answer.stdout) : [];
}

async function ownerOf(procRoot: string, pid: number): Promise<number | undefined> {
  try {
    return (await stat(`${procRoot}/${pid}`)).uid;
  } catch {
    // The process ended since nvidia-smi listed it, or is in a pid namespace we cannot see.
    return undefined;
  }
}

async function containerOf(procRoot: string, pid: number): Promise<string | undefined> {
  try {
    return containerIdFromCgroup(await readFile(`${procRoot}/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** uid → name from /etc/passwd; users from a directory (LDAP) are asked of getent one by one. */
async function userNames(): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
}

async function lookupUserName(uid: number): Promise<string | undefined> {
  try {
    const result = await runProgram('getent', ['passwd', String(uid)], { timeoutMs: 2_000 });
    const name = result.exitCode === 0 ? result.stdout.split(':')[0] : undefined;
    return name === undefined || name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}
