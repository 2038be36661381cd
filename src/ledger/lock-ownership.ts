/**
 * Knowing a lock directory as this process's own (see lock.ts): a taker's directory at the same
 * path is told apart by inode and birth time, and proper-lockfile works through a file system
 * that never removes a lock directory which is no longer ours.
 */
import {
  mkdir as mkdirCallback,
  rmdir as rmdirCallback,
  rmdirSync,
  stat as statCallback,
  statSync,
  utimes as utimesCallback,
  type BigIntStats,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import createDebug from 'debug';

const debug = createDebug('rp:ledger');

/**
 * A lock directory this process created. The same path holds a new directory after a takeover,
 * often under the very same inode number (file systems reuse a freed inode at once), so it is
 * recognised by inode and birth time; a taker's directory is born at least `staleMs` later.
 * Where the file system keeps no birth time (Node reports 0), by inode and an mtime this process
 * gave it: a taker's directory has its new holder's mtimes. That is the test proper-lockfile's
 * refresh makes to detect compromise, only made at the moment it matters.
 */
export interface OwnedDir {
  dev: bigint;
  ino: bigint;
  birthtimeNs: bigint;
  /** The latest mtimes this process gave the directory (noted by lockFs.utimes). */
  mtimesMs: bigint[];
  /**
   * False when this process may have been paused for long between creating the directory and
   * looking at it, so that what it looked at may be a taker's: it then neither writes nor removes.
   */
  certain: boolean;
}

/** The lock directories this process holds, by path. */
const owned = new Map<string, OwnedDir>();

/** The directory this process created at `lockPath`, while it holds the lock there. */
export function ownedDir(lockPath: string): OwnedDir | undefined {
  return owned.get(lockPath);
}

/** Forgets the directory at `lockPath` once the lock is released. */
export function forgetOwned(lockPath: string): void {
  owned.delete(lockPath);
}
const KEPT_MTIMES = 3;

export function isOwnDir(stats: BigIntStats, mine: OwnedDir): boolean {
  if (!mine.certain || stats.dev !== mine.dev || stats.ino !== mine.ino) return false;
  if (mine.birthtimeNs !== 0n) return stats.birthtimeNs === mine.birthtimeNs;
  return mine.mtimesMs.includes(stats.mtimeMs);
}

/** Records the directory just created at `lockPath` (mkdir began at `attemptStart`). */
export async function noteOwned(
  lockPath: string,
  attemptStart: number,
  staleMs: number,
): Promise<void> {
  const stats = await stat(lockPath, { bigint: true }).catch(() => undefined);
  // Nobody takes over a directory younger than staleMs; this leaves a wide margin for coarse
  // timestamps and says whether what we looked at can only be the directory we made.
  const certain = stats !== undefined && Date.now() - attemptStart < staleMs / 2;
  owned.set(lockPath, {
    dev: stats?.dev ?? 0n,
    ino: stats?.ino ?? 0n,
    birthtimeNs: stats?.birthtimeNs ?? 0n,
    mtimesMs: stats ? [stats.mtimeMs] : [],
    certain,
  });
  if (!certain) debug('paused while taking %s: it will be neither written nor removed', lockPath);
}

type Callback = (error: NodeJS.ErrnoException | null) => void;

/**
 * The file system proper-lockfile works through (its `fs` option: one object for the process,
 * as proper-lockfile caches the mtime precision it probed on it). Plain node:fs, except that
 * - rmdir and rmdirSync (its release, and its removal of held locks when the process exits) leave
 *   a lock directory this process held alone unless it is still the one it created: after a
 *   pause it may be the lock of whoever took over. This also stops proper-lockfile's refresh
 *   timer for a lock that is no longer ours, which its release does before removing;
 * - utimes notes the mtimes given to a held lock, for isOwnDir.
 * proper-lockfile 4 uses only these (and realpath, which `realpath: false` turns off).
 */
export const lockFs = {
  mkdir: mkdirCallback,
  stat: statCallback,
  utimes(path: string, atime: Date, mtime: Date, callback: Callback): void {
    const mine = owned.get(path);
    if (mine) mine.mtimesMs = [...mine.mtimesMs, BigInt(mtime.getTime())].slice(-KEPT_MTIMES);
    utimesCallback(path, atime, mtime, callback);
  },
  rmdir(path: string, callback: Callback): void {
    const mine = owned.get(path);
    if (!mine) {
      rmdirCallback(path, callback);
      return;
    }
    statCallback(path, { bigint: true }, (error, stats) => {
      if (error) {
        callback(error); // ENOENT counts as removed
      } else if (isOwnDir(stats, mine)) {
        rmdirCallback(path, callback);
      } else {
        debug('left %s alone: it is no longer the lock this process took', path);
        callback(null);
      }
    });
  },
  rmdirSync(path: string): void {
    const mine = owned.get(path);
    if (mine && !isOwnDir(statSync(path, { bigint: true }), mine)) return;
    rmdirSync(path);
  },
};
