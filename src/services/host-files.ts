/**
 * Where the host's files live ($RP_HOME, /var/lib/rp by default) and reading its config.json, with
 * errors that say exactly what an admin must run when the directory is not set up.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { ledgerPaths } from '../ledger/paths.js';

export const DEFAULT_RP_HOME = '/var/lib/rp';
export const CONFIG_FILE = 'config.json';
/** The machine's detected inventory, shared by every process (see host-policy.ts). */
export const INVENTORY_FILE = 'inventory.json';
/** The group whose members share the queue: whoever may run Docker may queue Docker jobs. */
export const HOST_GROUP = 'docker';
/**
 * rwxr-xr-x: the host directory holds the admin's config.json; nobody but its owner (root) may
 * create, replace or remove a file in it.
 */
export const HOST_DIR_MODE = 0o755;
/** rw-r--r--: config.json, readable by every rp user, writable by root only. */
export const CONFIG_FILE_MODE = 0o644;
/**
 * rwxrwsr-x, the queue folder: the group may create and replace files (the ledger is replaced by
 * rename, which needs write access to the folder), and setgid makes every new file belong to the
 * group whoever creates it.
 */
export const QUEUE_DIR_MODE = 0o2775;
/** rw-rw-r--: group members may append to the history and rewrite what rp keeps in the queue. */
export const HOST_FILE_MODE = 0o664;

export interface HostPaths {
  home: string;
  config: string;
  /** The group-writable folder of the queue's files (ledger, history, inventory, ...). */
  queue: string;
  inventory: string;
  ledger: string;
  /** The folder of the history's monthly files (`2026-12.jsonl`). */
  history: string;
  /** The single history file of earlier rp versions, still read when present. */
  legacyHistory: string;
}

/** $RP_HOME, or /var/lib/rp; always absolute so messages name one unambiguous place. */
export function rpHomeFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env.RP_HOME?.trim();
  return resolve(configured === undefined || configured === '' ? DEFAULT_RP_HOME : configured);
}

export function hostPaths(rpHome: string): HostPaths {
  const ledger = ledgerPaths(rpHome);
  return {
    home: resolve(rpHome),
    config: join(resolve(rpHome), CONFIG_FILE),
    queue: ledger.dir,
    inventory: join(ledger.dir, INVENTORY_FILE),
    ledger: ledger.ledger,
    history: ledger.history.dir,
    legacyHistory: ledger.history.legacy,
  };
}

export async function readConfigText(paths: HostPaths): Promise<string> {
  try {
    return await readFile(paths.config, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const what = (await exists(paths.home))
        ? `${paths.config} does not exist`
        : `${paths.home} does not exist`;
      throw new ConfigError(`this host is not set up for rp: ${what}`, {
        hint: setupHint(paths.home),
        cause: error,
      });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ConfigError(`cannot read ${paths.config}: permission denied`, {
        hint:
          `every rp user must be able to read ${paths.home}: ask an administrator to add you to ` +
          `the ${HOST_GROUP} group, or to run "${initCommand(paths.home, true)}" again`,
        cause: error,
      });
    }
    throw new ConfigError(`cannot read ${paths.config}: ${(error as Error).message}`, {
      hint: `check ${paths.home} and the file system it is on`,
      cause: error,
    });
  }
}

/** The command that prepares `home`: RP_HOME is named only when it is not the default. */
export function initCommand(home: string, sudo: boolean): string {
  const env = home === DEFAULT_RP_HOME ? '' : `RP_HOME=${home} `;
  return `${sudo ? 'sudo ' : ''}${env}rp host init`;
}

/**
 * What to run to set up `home`. Never a private queue on a shared host: two queues would hand out
 * the same GPUs twice.
 */
export function setupHint(home: string): string {
  if (home === DEFAULT_RP_HOME) {
    return `an administrator must run "${initCommand(home, true)}" once`;
  }
  return (
    `run "${initCommand(home, false)}" (as an administrator, "${initCommand(home, true)}", ` +
    `if the directory is to be shared)`
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    // Cannot look (EACCES): the caller's next step fails with the real reason.
    return true;
  }
}
