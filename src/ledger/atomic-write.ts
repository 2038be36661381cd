/**
 * Replacing a file so that readers see either the old or the new content, never a mix, and a
 * crash leaves one of the two: write a temp file in the same directory (rename is atomic only
 * within one file system), fsync it, rename it over the target, then fsync the directory so the
 * rename itself survives a power cut.
 */
import type { BigIntStats } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import createDebug from 'debug';
import { randomToken } from '../host/ids.js';
import { toConfigError } from './fs-errors.js';

const debug = createDebug('rp:ledger');

/** Temp files start with this, so a crashed writer's leftovers can be recognised and removed. */
export function tempPrefix(target: string): string {
  return `.${basename(target)}.tmp-`;
}

export interface AtomicWriteOptions {
  /** Permission bits of the new file, applied whatever the umask. */
  mode: number;
  /**
   * Awaited after the data is on disk and just before the rename; a rejection stops the write and
   * removes the temp file. The ledger uses it to refuse to write once its lock may be lost.
   */
  beforeRename?: () => Promise<void>;
}

/** Writes `data` to `target` atomically; returns the new file's identity (see fileIdentity). */
export async function writeFileAtomic(
  target: string,
  data: string,
  options: AtomicWriteOptions,
): Promise<string> {
  const dir = dirname(target);
  const temp = join(dir, `${tempPrefix(target)}${process.pid}-${randomToken()}`);
  let handle: FileHandle | undefined;
  let renamed = false;
  let identity = '';
  try {
    // 'wx': never follow or reuse an existing file under this name.
    handle = await open(temp, 'wx', options.mode);
    await handle.chmod(options.mode);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    // A rename keeps the inode, size and mtime.
    identity = fileIdentity(await handle.stat({ bigint: true }));
    await handle.close();
    handle = undefined;
    await options.beforeRename?.();
    await rename(temp, target);
    renamed = true;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (!renamed) await unlink(temp).catch(() => undefined);
    throw toConfigError(error, target, 'write');
  }
  await fsyncDir(dir);
  return identity;
}

/**
 * A file's identity: its inode, size and modification time in nanoseconds. Every rp write is a new
 * file renamed into place, so a file with the identity this process last read or wrote holds what
 * it read or wrote.
 */
export function fileIdentity(stats: BigIntStats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}

/**
 * Makes a rename in `dir` durable. A failure here is logged, not thrown: the new file is already
 * in place and visible to every reader, and failing the caller would make it believe otherwise.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    debug('fsync of directory %s failed: %s', dir, (error as Error).message);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
