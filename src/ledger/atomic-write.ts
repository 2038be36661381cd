/**
 * Replacing a file so that readers see either the old or the new content, never a mix, and a
 * crash leaves one of the two: write a temp file in the same directory (rename is atomic only
 * within one file system), fsync it, rename it over the target, then fsync the directory so the
 * rename itself survives a power cut.
 *
 * The steps are synchronous calls: a write is a handful of system calls of microseconds each, and
 * each asynchronous one would be a round trip through libuv's thread pool, which under load cost
 * more than the calls themselves (the ledger writes under its lock, so every such wait makes the
 * whole host's line longer). Only `beforeRename`, which may wait, is awaited.
 */
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
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
  let fd: number | undefined;
  let renamed = false;
  let identity = '';
  try {
    // 'wx': never follow or reuse an existing file under this name.
    fd = openSync(temp, 'wx', options.mode);
    fchmodSync(fd, options.mode);
    writeAll(fd, data);
    fsyncSync(fd);
    // A rename keeps the inode, size and mtime.
    identity = fileIdentity(fstatSync(fd, { bigint: true }));
    closeSync(fd);
    fd = undefined;
    await options.beforeRename?.();
    renameSync(temp, target);
    renamed = true;
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    if (!renamed) unlinkQuietly(temp);
    throw toConfigError(error, target, 'write');
  }
  fsyncDir(dir);
  return identity;
}

/**
 * Writes the string as it is (no Buffer copy of a ledger of hundreds of KB first), then the rest
 * if the system wrote less than asked (a full disk, a signal); a failure throws.
 */
function writeAll(fd: number, data: string): void {
  const written = writeSync(fd, data, null, 'utf8');
  const bytes = Buffer.byteLength(data, 'utf8');
  if (written === bytes) return;
  const rest = Buffer.from(data, 'utf8');
  let offset = written;
  while (offset < bytes) offset += writeSync(fd, rest, offset, bytes - offset);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closing a descriptor whose write failed: the write's error is the one to report.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or the folder is not writable: removeStaleTempFiles sweeps leftovers.
  }
}

export function fileIdentity(stats: BigIntStats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}

/**
 * Makes a rename in `dir` durable. A failure here is logged, not thrown: the new file is already
 * in place and visible to every reader, and failing the caller would make it believe otherwise.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    debug('fsync of directory %s failed: %s', dir, (error as Error).message);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
