/**
 * The host directory ($RP_HOME, /var/lib/rp by default): `rp host init` prepares it so that every
 * member of the docker group can queue jobs; `rp host show` and `rp host refresh` report and
 * renew what rp knows of the machine (see host-policy.ts).
 */
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import { ensureTokensDir, TOKENS_DIR_MODE } from '../ledger/tokens-dir.js';
import { join } from 'node:path';
import createDebug from 'debug';
import { describeBackend } from '../core/backend-config.js';
import { ConfigError } from '../core/errors.js';
import {
  defaultHostConfig,
  formatHostConfig,
  type HostCapacity,
  type HostInventory,
  type UserLimits,
} from '../core/host-config.js';
import type { ContainerEngine } from '../docker/engine.js';
import { lookupGroup, type GroupInfo } from '../host/inventory.js';
import { engineFilePath, recordedEngine } from '../ledger/engine-id.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import {
  CONFIG_FILE_MODE,
  HOST_DIR_MODE,
  HOST_GROUP,
  hostPaths,
  initCommand,
  QUEUE_DIR_MODE,
  type HostPaths,
} from './host-files.js';
import { openPolicySource, type DetectMachine, type LoadedHostConfig } from './host-policy.js';

export {
  CONFIG_FILE_MODE,
  DEFAULT_RP_HOME,
  HOST_DIR_MODE,
  HOST_FILE_MODE,
  QUEUE_DIR_MODE,
  HOST_GROUP,
  hostPaths,
  rpHomeFromEnv,
  setupHint,
  type HostPaths,
} from './host-files.js';
export type { LoadedHostConfig } from './host-policy.js';

const debug = createDebug('rp:host');

/**
 * Reads, validates and resolves $RP_HOME/config.json with the stored inventory (made first if
 * missing or made for another config). A missing directory or config is a ConfigError whose hint
 * is the command an admin must run; an invalid file names the file, the field and what is allowed.
 */
export async function loadHostConfig(
  rpHome: string,
  options: { detect?: DetectMachine } = {},
): Promise<LoadedHostConfig> {
  const source = openPolicySource(rpHome, { detect: options.detect });
  await source.refreshIfStale();
  return source.load();
}

// ---------------------------------------------------------------------------------------------
// rp host init

export interface InitHostOptions {
  rpHome: string;
  /** Replace an existing config.json with the defaults. */
  force: boolean;
  detect?: DetectMachine;
  /** The group to share the directory with; default "docker". */
  group?: string;
  /** Finds a group by name; the host's groups unless a test passes its own. */
  findGroup?: (name: string) => Promise<GroupInfo | undefined>;
  /**
   * The Docker engine the queue is to use, recorded now so that the first user's command cannot
   * record another one (a rootless engine, say). Left out: the first rp command records it.
   */
  engine?: Pick<ContainerEngine, 'engineInfo'>;
}

export interface InitHostResult {
  paths: HostPaths;
  directory: 'created' | 'existing';
  config: 'written' | 'replaced';
  /** The queue folder's group as it now is, when it is the sharing group. */
  group: GroupInfo | undefined;
  /** The host directory's permission bits, in octal ("755"). */
  mode: string;
  /** The queue folder's permission bits, in octal ("2775"). */
  queueMode: string;
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
  await makeDirectory(paths.home, paths.home);
  await makeDirectory(paths.queue, paths.home);

  // The queue folder is the group's: every member's rp writes the ledger and history there.
  const queueInfo = await stat(paths.queue);
  const groupName = options.group ?? HOST_GROUP;
  const group = await (options.findGroup ?? lookupGroup)(groupName);
  let sharedWith: GroupInfo | undefined;
  if (group === undefined) {
    warnings.push(
      `there is no ${groupName} group on this host: only ${paths.queue}'s owner and group can queue jobs`,
    );
  } else if (queueInfo.gid === group.gid) {
    sharedWith = group;
  } else {
    try {
      await chown(paths.queue, -1, group.gid);
      sharedWith = group;
    } catch (error) {
      warnings.push(
        `could not give ${paths.queue} to group ${group.name} (${errorCode(error)}): ` +
          `run "${initCommand(paths.home, true)}" to share it with every ${group.name} member`,
      );
    }
  }
  // The history folder is the group's as well: every member's rp appends to its monthly files.
  await makeDirectory(paths.history, paths.home);
  if (sharedWith !== undefined && (await stat(paths.history)).gid !== sharedWith.gid) {
    try {
      await chown(paths.history, -1, sharedWith.gid);
    } catch (error) {
      warnings.push(
        `could not give ${paths.history} to group ${sharedWith.name} (${errorCode(error)})`,
      );
    }
  }
  for (const [dir, mode] of [
    [paths.home, HOST_DIR_MODE],
    [paths.queue, QUEUE_DIR_MODE],
    [paths.history, QUEUE_DIR_MODE],
  ] as const) {
    try {
      await chmod(dir, mode);
    } catch (error) {
      throw hostDirError(error, dir, 'set the permissions of', paths.home);
    }
  }

  // API tokens (rp token create, rp serve): made here, so the folder is the admin's. Made by the
  // first user's rp token create instead, it would be that user's, who could then remove others'
  // token files; an existing one is given back to whoever runs this.
  const tokens = await ensureTokensDir(options.rpHome);
  try {
    await chown(tokens, process.getuid?.() ?? 0, -1);
    await chmod(tokens, TOKENS_DIR_MODE);
  } catch (error) {
    throw hostDirError(error, tokens, 'set the owner and permissions of', paths.home);
  }

  // The admin's: readable by everyone, writable by root only (the folder is root's too).
  try {
    await writeFileAtomic(paths.config, formatHostConfig(defaultHostConfig()), {
      mode: CONFIG_FILE_MODE,
    });
  } catch (error) {
    throw hostDirError(error, paths.config, 'write', paths.home);
  }
  // Files made before this init (by an rp run without the group, say) become shared as well.
  const historyFiles = (await readdir(paths.history)).map((name) => join(paths.history, name));
  for (const file of [paths.inventory, paths.ledger, paths.legacyHistory, ...historyFiles]) {
    const problem = await shareFile(file, sharedWith);
    if (problem !== undefined) warnings.push(problem);
  }

  const engineWarning = await recordEngine(options);
  if (engineWarning !== undefined) warnings.push(engineWarning);
  const mode = ((await stat(paths.home)).mode & 0o7777).toString(8);
  const queueMode = ((await stat(paths.queue)).mode & 0o7777).toString(8);
  const { loaded, notes } = await openPolicySource(options.rpHome, {
    detect: options.detect,
  }).refresh();
  debug('prepared %s (mode %s)', paths.home, mode);
  return {
    paths,
    directory: created ? 'created' : 'existing',
    config: configExists ? 'replaced' : 'written',
    group: sharedWith,
    mode,
    queueMode,
    inventory: loaded.inventory,
    capacity: loaded.capacity,
    limits: loaded.limits,
    warnings: [...warnings, ...notes, ...loaded.warnings],
  };
}

/** Creates `dir` (and its parents) unless it exists; it must be a directory. */
async function makeDirectory(dir: string, home: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw hostDirError(error, dir, 'create', home);
  }
  if (!(await stat(dir)).isDirectory()) {
    throw new ConfigError(`${dir} exists and is not a directory`, {
      hint: 'remove it, or set RP_HOME to another place',
    });
  }
}

/** Records the engine the queue uses; a warning when that cannot be done now. */
async function recordEngine(options: InitHostOptions): Promise<string | undefined> {
  if (options.engine === undefined) return undefined;
  let current;
  try {
    current = await options.engine.engineInfo();
  } catch (error) {
    return `the Docker engine does not answer (${(error as Error).message}); the first rp command that reaches one records it as the queue's engine`;
  }
  if (current.id === '') return undefined;
  const recorded = await recordedEngine(options.rpHome, current, new Date());
  if (recorded.id !== current.id) {
    return (
      `the queue is recorded as using the Docker engine ${recorded.id}, not this one ` +
      `(${current.id}); if it really moved, delete ${engineFilePath(options.rpHome)}`
    );
  }
  return undefined;
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
        `run "${initCommand(home, true)}" as an administrator, or ask one to (a private ` +
        'RP_HOME on a shared host would hand out the same GPUs twice)',
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
// rp host show, rp host refresh

export interface HostReport {
  paths: HostPaths;
  capacity: HostCapacity;
  limits: UserLimits;
  /** When the stored inventory was detected (ISO time). */
  detectedAt: string;
  warnings: string[];
  /** Which backend runs the jobs and how it is reached (config.json `backend`), in words. */
  backend?: string[];
}

/** What `rp host show` prints: capacity, limits and where the host's files live. */
export async function showHost(options: {
  rpHome: string;
  detect?: DetectMachine;
}): Promise<HostReport> {
  return toReport(await loadHostConfig(options.rpHome, { detect: options.detect }), []);
}

/**
 * `rp host refresh`: detects the machine again (GPUs included) and stores what it found, for every
 * rp process to use. A GPU detection that fails keeps the GPUs known before.
 */
export async function refreshHost(options: {
  rpHome: string;
  detect?: DetectMachine;
}): Promise<HostReport> {
  const { loaded, notes } = await openPolicySource(options.rpHome, {
    detect: options.detect,
  }).refresh();
  return toReport(loaded, notes);
}

function toReport(loaded: LoadedHostConfig, notes: string[]): HostReport {
  return {
    paths: loaded.paths,
    capacity: loaded.capacity,
    limits: loaded.limits,
    detectedAt: loaded.detectedAt,
    warnings: [...notes, ...loaded.warnings],
    backend: describeBackend(loaded.config.backend),
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
