/**
 * The host policy (capacity and limits) every rp process schedules with, resolved once per host
 * rather than once per process:
 *
 * - The machine's inventory is stored in $RP_HOME/inventory.json. It is made by `rp host init`,
 *   made anew by `rp host refresh`, and by the first rp command that sees config.json changed
 *   since it was made. A GPU detection that fails or times out keeps the GPUs stored before.
 * - config.json and inventory.json are read again whenever they change (inode, size, mtime),
 *   inside each ledger transaction (see HostSession.transact), so every process decides under the
 *   same config, however long it has been waiting.
 * - A config.json that an admin has just broken does not stop a process that already has a valid
 *   one: it keeps scheduling with the last valid config and says so once. New processes refuse
 *   to start, naming the file and the field.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import createDebug from 'debug';
import { RpError } from '../core/errors.js';
import {
  parseHostConfig,
  resolveHostConfig,
  type HostCapacity,
  type HostConfig,
  type HostInventory,
  type UserLimits,
} from '../core/host-config.js';
import type { HostPolicy } from '../core/queue-transitions.js';
import {
  formatStoredInventory,
  mergeDetection,
  parseStoredInventory,
  toHostInventory,
  type Detection,
  type StoredInventory,
} from '../core/stored-inventory.js';
import { detectCpuCount, detectMemoryTotalMb, probeGpus } from '../host/inventory.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { HOST_FILE_MODE, hostPaths, readConfigText, type HostPaths } from './host-files.js';

const debug = createDebug('rp:host');

/** Detects what the machine has; injected so tests pass a detection as data. */
export type DetectMachine = (what: { gpus: boolean }) => Promise<Detection>;

export const detectMachine: DetectMachine = async (what) => ({
  cpuCount: detectCpuCount(),
  memoryTotalMb: detectMemoryTotalMb(),
  gpus: what.gpus ? await probeGpus() : { kind: 'skipped' },
});

export interface PolicySourceOptions {
  detect?: DetectMachine;
  warn?: (line: string) => void;
  now?: () => Date;
}

/** Everything resolved from the host's files, for `rp host show` and `rp host init`. */
export interface LoadedHostConfig {
  paths: HostPaths;
  config: HostConfig;
  inventory: HostInventory;
  /** When the inventory was detected (ISO time). */
  detectedAt: string;
  capacity: HostCapacity;
  limits: UserLimits;
  warnings: string[];
}

export interface HostPolicySource {
  readonly paths: HostPaths;
  /**
   * Detects the machine now, GPUs included, and stores the result (`rp host refresh`, `rp host
   * init`). A GPU detection that fails keeps the GPUs stored before; `notes` say what changed.
   */
  refresh(): Promise<{ loaded: LoadedHostConfig; notes: string[] }>;
  /** Reads and resolves the host's files as they are now, without falling back on anything. */
  load(): Promise<LoadedHostConfig>;
  /**
   * Detects the machine again when the stored inventory is missing or was made for another
   * config.json, and stores the result. Runs nvidia-smi at most then; call it outside the lock.
   */
  refreshIfStale(): Promise<void>;
  /** The policy in force now. Reads two small files when they changed; never runs a program. */
  current(): Promise<HostPolicy>;
}

interface Cached {
  configStamp: string;
  inventoryStamp: string;
  policy: HostPolicy;
}

export function openPolicySource(
  rpHome: string,
  options: PolicySourceOptions = {},
): HostPolicySource {
  const paths = hostPaths(rpHome);
  const detect = options.detect ?? detectMachine;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`rp: warning: ${line}\n`));
  const now = options.now ?? (() => new Date());
  let cached: Cached | undefined;
  /** Used when inventory.json cannot be written by this user (the admin has not run init yet). */
  let unstored: StoredInventory | undefined;
  const warned = new Set<string>();
  const warnOnce = (line: string): void => {
    if (warned.has(line)) return;
    warned.add(line);
    warn(line);
  };

  async function readStored(): Promise<StoredInventory | undefined> {
    let text: string;
    try {
      text = await readFile(paths.inventory, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return unstored;
      throw error;
    }
    return parseStoredInventory(text, paths.inventory);
  }

  async function refreshIfStale(): Promise<void> {
    const configStamp = await fileStamp(paths.config);
    let stored: StoredInventory | undefined;
    try {
      stored = await readStored();
    } catch (error) {
      warnOnce(`${messageOf(error)}; detecting the machine again`);
    }
    if (stored !== undefined && stored.configStamp === configStamp) return;
    const config = parseHostConfig(await readConfigText(paths), paths.config);
    await storeDetection(stored === undefined || config.capacity.gpus === 'auto', false);
  }

  async function refresh(): Promise<{ loaded: LoadedHostConfig; notes: string[] }> {
    const notes = await storeDetection(true, true);
    return { loaded: await load(), notes };
  }

  /** Detects, merges into what is stored, and stores. */
  async function storeDetection(gpus: boolean, explicit: boolean): Promise<string[]> {
    debug('detecting the machine for %s…', paths.inventory);
    const detection = await detect({ gpus });
    // Read again just before writing: another process may have stored a newer detection.
    const latest = await readStored().catch(() => undefined);
    const configStamp = await fileStamp(paths.config);
    const merged = mergeDetection(latest, detection, now(), configStamp, explicit);
    try {
      await mkdir(paths.queue, { recursive: true });
      await writeFileAtomic(paths.inventory, formatStoredInventory(merged.inventory), {
        mode: HOST_FILE_MODE,
      });
      unstored = undefined;
    } catch (error) {
      unstored = merged.inventory;
      warnOnce(
        `could not store the machine's inventory (${messageOf(error)}); ` +
          'an administrator should run "sudo rp host refresh"',
      );
    }
    return merged.notes;
  }

  async function load(): Promise<LoadedHostConfig> {
    const config = parseHostConfig(await readConfigText(paths), paths.config);
    let stored = await readStored();
    if (stored === undefined) {
      // Only a process that skipped refreshIfStale gets here: detect now (never shrinking).
      await storeDetection(true, false);
      stored = await readStored();
    }
    if (stored === undefined) throw new Error('bug: no inventory after detection');
    const inventory = toHostInventory(stored);
    const resolved = resolveHostConfig(config, inventory, paths.config);
    return { paths, config, inventory, detectedAt: stored.detectedAt, ...resolved };
  }

  async function current(): Promise<HostPolicy> {
    const [configStamp, inventoryStamp] = await Promise.all([
      fileStamp(paths.config),
      fileStamp(paths.inventory),
    ]);
    if (
      cached !== undefined &&
      cached.configStamp === configStamp &&
      cached.inventoryStamp === inventoryStamp &&
      unstored === undefined
    ) {
      return cached.policy;
    }
    try {
      const loaded = await load();
      const policy: HostPolicy = { capacity: loaded.capacity, limits: loaded.limits };
      cached = { configStamp, inventoryStamp, policy };
      return policy;
    } catch (error) {
      if (cached !== undefined && error instanceof RpError) {
        warnOnce(`${error.message}; still using the last valid host config`);
        return cached.policy;
      }
      throw error;
    }
  }

  return { paths, refresh, load, refreshIfStale, current };
}

/** What identifies a version of a file: inode, size and mtime; 'missing' when there is none. */
async function fileStamp(path: string): Promise<string> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.ino}-${info.size}-${info.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
