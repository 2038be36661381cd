/**
 * Launch files: what a detached job runs (src/core/launch-spec.ts), one file per submission in
 * `<queue>/launch/`, named by the job's ledger entry (`detached.launch`). Written by the
 * submitting `rp run --detach` before its transaction, read by the host supervisor when the job is
 * granted, and removed once no live entry names it. Kept out of the ledger, which every rp process
 * reads on every look: the ledger stays small however many jobs are queued.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { launchSpecSchema, type LaunchSpec } from '../core/launch-spec.js';
import { randomToken } from '../host/ids.js';
import { writeFileAtomic } from './atomic-write.js';
import { toConfigError } from './fs-errors.js';
import type { LedgerPaths } from './paths.js';
import { makeSharedDir } from './shared-dir.js';

const debug = createDebug('rp:ledger');

export const LAUNCH_DIR = 'launch';
const LAUNCH_NAME = /^[\w.-]+\.json$/;
/** A launch file no entry names is left this long: its submission may not have queued it yet. */
export const ORPHAN_LAUNCH_AGE_MS = 10 * 60_000;

function launchPath(paths: LedgerPaths, name: string): string {
  return join(paths.dir, LAUNCH_DIR, name);
}

/** Writes `spec` to a new launch file; returns its name for the job's entry. */
export async function writeLaunchFile(paths: LedgerPaths, spec: LaunchSpec): Promise<string> {
  const name = `${Date.now().toString(36)}-${randomToken(4)}.json`;
  const path = launchPath(paths, name);
  try {
    await makeSharedDir(join(paths.dir, LAUNCH_DIR));
    // Readable by the supervisor, whichever rp user runs it; only the owner may change it.
    await writeFileAtomic(path, `${JSON.stringify(spec)}\n`, { mode: 0o644 });
  } catch (error) {
    throw error instanceof ConfigError ? error : toConfigError(error, path, 'write');
  }
  return name;
}

/** Reads and checks a launch file; a missing or invalid one is a ConfigError naming it. */
export async function readLaunchFile(paths: LedgerPaths, name: string): Promise<LaunchSpec> {
  const path = launchPath(paths, name);
  if (!LAUNCH_NAME.test(name)) throw new ConfigError(`"${name}" is not a launch file name`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw toConfigError(error, path, 'read');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
  const parsed = launchSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`);
  }
  return parsed.data;
}

/**
 * Writes `spec` to a new launch file and calls `queue` with its name (the transaction that queues
 * the jobs naming it); the file is removed again when `queue` fails, so nothing is left behind.
 */
export async function withLaunchFile<T>(
  paths: LedgerPaths,
  spec: LaunchSpec,
  queue: (launch: string) => Promise<T>,
): Promise<T> {
  const launch = await writeLaunchFile(paths, spec);
  try {
    return await queue(launch);
  } catch (error) {
    await removeLaunchFile(paths, launch);
    throw error;
  }
}

export async function removeLaunchFile(paths: LedgerPaths, name: string): Promise<void> {
  if (!LAUNCH_NAME.test(name)) return;
  await unlink(launchPath(paths, name)).catch(() => undefined);
}

/**
 * Removes the launch files that no live entry names (`inUse`) and that are older than
 * ORPHAN_LAUNCH_AGE_MS: left by a submission that failed after writing one, or by a supervisor
 * that died before removing one.
 */
export async function removeOrphanLaunchFiles(
  paths: LedgerPaths,
  inUse: ReadonlySet<string>,
  now: Date,
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(paths.dir, LAUNCH_DIR));
  } catch {
    return;
  }
  for (const name of names) {
    if (!LAUNCH_NAME.test(name) || inUse.has(name)) continue;
    const path = launchPath(paths, name);
    const age =
      now.getTime() -
      (await stat(path).then(
        (s) => s.mtimeMs,
        () => now.getTime(),
      ));
    if (age < ORPHAN_LAUNCH_AGE_MS) continue;
    debug('removing launch file %s, which no job names', name);
    await unlink(path).catch(() => undefined);
  }
}
