/**
 * The host directory ($RP_HOME, /var/lib/rp by default): `rp host init` prepares it so that every
 * member of the docker group can queue jobs, and every other command loads its config through
 * loadHostConfig, which says exactly what an admin must run when the directory is not set up.
 */
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import {
  defaultHostConfig,
  formatHostConfig,
  parseHostConfig,
  resolveHostConfig,
  type HostCapacity,
  type HostConfig,
  type HostInventory,
  type UserLimits,
} from '../core/host-config.js';
import { detectInventory, lookupGroup, type GroupInfo } from '../host/inventory.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { ledgerPaths } from '../ledger/paths.js';

const debug = createDebug('rp:host');

export const DEFAULT_RP_HOME = '/var/lib/rp';
export const CONFIG_FILE = 'config.json';
/** The group whose members share the queue: whoever may run Docker may queue Docker jobs. */
export const HOST_GROUP = 'docker';
/**
 * rwxrwsr-x: the group may create and replace files (the ledger is replaced by rename, which
 * needs write access to the directory), and setgid makes every new file belong to the group
 * whoever creates it.
 */
export const HOST_DIR_MODE = 0o2775;
/** rw-rw-r--: group members may append to the history and rewrite what rp keeps here. */
export const HOST_FILE_MODE = 0o664;

export interface HostPaths {
  home: string;
  config: string;
  ledger: string;
  history: string;
}

/** $RP_HOME, or /var/lib/rp; always absolute so messages name one unambiguous place. */
export function rpHomeFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env.RP_HOME?.trim();
  return resolve(configured === undefined || configured === '' ? DEFAULT_RP_HOME : configured);
}

export function hostPaths(rpHome: string): HostPaths {
  const ledger = ledgerPaths(rpHome);
  return {
    home: ledger.dir,
    config: join(ledger.dir, CONFIG_FILE),
    ledger: ledger.ledger,
    history: ledger.history,
  };
}

/** Detects what the machine has; injected so tests pass an inventory as data. */
export type InventoryProbe = (what: { gpus: boolean }) => Promise<HostInventory>;

const probeMachine: InventoryProbe = (what) => detectInventory({ gpus: what.gpus });

// ---------------------------------------------------------------------------------------------
// Loading

export interface LoadHostConfigOptions {
  probe?: InventoryProbe;
  /**
   * Run nvidia-smi even when the config lists GPUs explicitly, to fill in their names and warn
   * about GPUs it does not see. Off for scheduling, so a job's start never waits on nvidia-smi
   * when the admin has pinned the GPUs.
   */
  compareGpus?: boolean;
}

export interface LoadedHostConfig {
  paths: HostPaths;
  config: HostConfig;
  inventory: HostInventory;
  capacity: HostCapacity;
  limits: UserLimits;
  warnings: string[];
}

/**
 * Reads, validates and resolves $RP_HOME/config.json. A missing directory or config is a
 * ConfigError whose hint is the command an admin must run; an invalid file names the file, the
 * field and what is allowed.
 */
export async function loadHostConfig(
  rpHome: string,
  options: LoadHostConfigOptions = {},
): Promise<LoadedHostConfig> {
  const paths = hostPaths(rpHome);
  const text = await readConfigText(paths);
  const config = parseHostConfig(text, paths.config);
  const probe = options.probe ?? probeMachine;
  const inventory = await probe({
    gpus: config.capacity.gpus === 'auto' || options.compareGpus === true,
  });
  const resolved = resolveHostConfig(config, inventory, paths.config);
  return { paths, config, inventory, ...resolved };
}

async function readConfigText(paths: HostPaths): Promise<string> {
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
function initCommand(home: string, sudo: boolean): string {
  const env = home === DEFAULT_RP_HOME ? '' : `RP_HOME=${home} `;
  return `${sudo ? 'sudo ' : ''}${env}rp host init`;
}

/** What to run to set up `home`: sudo for the shared default, RP_HOME for any other place. */
export function setupHint(home: string): string {
  if (home === DEFAULT_RP_HOME) {
    return (
      `an administrator must run "${initCommand(home, true)}" once; for a private queue of ` +
      `your own, use "RP_HOME=~/.rp rp host init" and keep RP_HOME set`
    );
  }
  return (
    `run "${initCommand(home, false)}" (as an administrator, "${initCommand(home, true)}", ` +
    `if the directory is to be shared)`
  );
}

// ---------------------------------------------------------------------------------------------
// rp host init

export interface InitHostOptions {
  rpHome: string;
  /** Replace an existing config.json with the defaults. */
  force: boolean;
  probe?: InventoryProbe;
  /** The group to share the directory with; default "docker". */
  group?: string;
  /** Finds a group by name; the host's groups unless a test passes its own. */
  findGroup?: (name: string) => Promise<GroupInfo | undefined>;
}

export interface InitHostResult {
  paths: HostPaths;
  directory: 'created' | 'existing';
  config: 'written' | 'replaced';
  /** The directory's group as it now is, when it is the sharing group. */
  group: GroupInfo | undefined;
  /** The directory's permission bits, in octal ("2775"). */
  mode: string;
  inventory: HostInventory;
  capacity: HostCapacity;
  limits: UserLimits;
  warnings: string[];
}

/**
 * Prepares the host directory: creates it (group docker when that group exists, mode 2775) and
 * writes a default config.json. An existing config is never replaced without `force`.
 */
export async function initHost(options: InitHostOptions): Promise<InitHostResult> {
  const paths = hostPaths(options.rpHome);
  const warnings: string[] = [];
  const configExists = await exists(paths.config);
  if (configExists && !options.force) {
    throw new ConfigError(`${paths.home} is already set up: ${paths.config} exists and was kept`, {
      hint:
        `edit ${paths.config} to change capacity or limits ("rp host show" prints what is in ` +
        `effect); "rp host init --force" replaces it with the defaults`,
    });
  }

  const created = !(await exists(paths.home));
  debug('preparing %s…', paths.home);
  try {
    await mkdir(paths.home, { recursive: true });
  } catch (error) {
    throw hostDirError(error, paths.home, 'create', paths.home);
  }
  const info = await stat(paths.home);
  if (!info.isDirectory()) {
    throw new ConfigError(`${paths.home} exists and is not a directory`, {
      hint: 'remove it, or set RP_HOME to another place',
    });
  }

  const groupName = options.group ?? HOST_GROUP;
  const group = await (options.findGroup ?? lookupGroup)(groupName);
  let sharedWith: GroupInfo | undefined;
  if (group === undefined) {
    warnings.push(
      `there is no ${groupName} group on this host: only ${paths.home}'s owner and group can queue jobs`,
    );
  } else if (info.gid === group.gid) {
    sharedWith = group;
  } else {
    try {
      await chown(paths.home, -1, group.gid);
      sharedWith = group;
    } catch (error) {
      warnings.push(
        `could not give ${paths.home} to group ${group.name} (${errorCode(error)}): ` +
          `run "${initCommand(paths.home, true)}" to share it with every ${group.name} member`,
      );
    }
  }
  try {
    await chmod(paths.home, HOST_DIR_MODE);
  } catch (error) {
    throw hostDirError(error, paths.home, 'set the permissions of', paths.home);
  }

  try {
    await writeFileAtomic(paths.config, formatHostConfig(defaultHostConfig()), {
      mode: HOST_FILE_MODE,
    });
  } catch (error) {
    throw hostDirError(error, paths.config, 'write', paths.home);
  }
  // Files made before this init (by an rp run without the group, say) become shared as well.
  for (const file of [paths.config, paths.ledger, paths.history]) {
    const problem = await shareFile(file, sharedWith);
    if (problem !== undefined) warnings.push(problem);
  }

  const mode = ((await stat(paths.home)).mode & 0o7777).toString(8);
  const loaded = await loadHostConfig(options.rpHome, {
    probe: options.probe,
    compareGpus: true,
  });
  debug('prepared %s (mode %s)', paths.home, mode);
  return {
    paths,
    directory: created ? 'created' : 'existing',
    config: configExists ? 'replaced' : 'written',
    group: sharedWith,
    mode,
    inventory: loaded.inventory,
    capacity: loaded.capacity,
    limits: loaded.limits,
    warnings: [...warnings, ...loaded.warnings],
  };
}

/** Makes an existing file group-writable and, when there is one, the sharing group's. */
async function shareFile(file: string, group: GroupInfo | undefined): Promise<string | undefined> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return undefined;
  }
  try {
    if (group !== undefined && info.gid !== group.gid) await chown(file, -1, group.gid);
    if ((info.mode & 0o060) !== 0o060) await chmod(file, (info.mode & 0o7777) | 0o060);
    return undefined;
  } catch (error) {
    return `could not make ${file} writable for the group (${errorCode(error)})`;
  }
}

/**
 * A failure to prepare `path` in the host directory `home`, as a ConfigError whose hint says who
 * can do it. writeFileAtomic already gives ConfigErrors; their cause tells permission problems
 * apart, which get this module's hint about sudo and private queues.
 */
function hostDirError(error: unknown, path: string, action: string, home: string): unknown {
  const cause = error instanceof ConfigError ? error.cause : error;
  const code = errorCode(cause);
  if (code === 'EACCES' || code === 'EPERM') {
    return new ConfigError(`cannot ${action} ${path}: permission denied`, {
      hint:
        `run "${initCommand(home, true)}" as an administrator, or set RP_HOME to a directory ` +
        `of your own for a private queue ("RP_HOME=~/.rp rp host init")`,
      cause,
    });
  }
  if (error instanceof ConfigError) return error;
  return new ConfigError(`cannot ${action} ${path}: ${(error as Error).message}`, {
    hint: `check ${path} and the file system it is on`,
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------
// rp host show

export interface HostReport {
  paths: HostPaths;
  capacity: HostCapacity;
  limits: UserLimits;
  warnings: string[];
}

/** What `rp host show` prints: capacity, limits and where the host's files live. */
export async function showHost(options: {
  rpHome: string;
  probe?: InventoryProbe;
}): Promise<HostReport> {
  const loaded = await loadHostConfig(options.rpHome, { probe: options.probe, compareGpus: true });
  return {
    paths: loaded.paths,
    capacity: loaded.capacity,
    limits: loaded.limits,
    warnings: loaded.warnings,
  };
}

// ---------------------------------------------------------------------------------------------

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    // Cannot look (EACCES): the caller's next step fails with the real reason.
    return true;
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}
