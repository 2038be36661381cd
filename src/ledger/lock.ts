/**
 * The host-wide ledger lock: proper-lockfile's mkdir lock, with its traps handled.
 *
 * - Retries: proper-lockfile gives up at once by default (`retries: 0`). We retry ourselves with
 *   short jittered backoff until a deadline, so 64 processes contending for the lock all get it
 *   and a timeout says how long we waited (a retry *count* cannot).
 * - Compromise: by default `onCompromised` throws from a timer, which kills the process. We only
 *   record it; the holder then refuses to write (see HeldLock.assertHeld) instead of writing over
 *   the update of whoever took the lock over.
 * - The lock target need not exist: with `realpath: false` proper-lockfile never touches the target
 *   file, it only mkdirs `lockfilePath`. (With the default `realpath: true` it realpaths the target,
 *   which fails with ENOENT before the ledger has been created.)
 * - Staleness: a lock whose mtime is older than `staleMs` is taken over (DEFAULT_LOCK_SETTINGS
 *   says why 5 s). NOT by proper-lockfile, though: its takeover (stat, rmdir, mkdir) lets two
 *   waiters that both saw the stale lock both end up holding it — the second one's rmdir removes
 *   the lock the first one has just created (https://github.com/moxystudio/node-proper-lockfile/issues/121;
 *   our 50-process race test hit it). We give proper-lockfile a staleness it never reaches and take
 *   over stale locks ourselves, one process at a time: see takeOverIfStale.
 */
import { mkdir, rename, rmdir, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import lockfile from 'proper-lockfile';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { randomToken } from '../host/ids.js';
import { toConfigError } from './fs-errors.js';

const debug = createDebug('rp:ledger');

export interface LockSettings {
  /** A lock whose mtime is older than this is considered abandoned and taken over. */
  staleMs: number;
  /** How often the holder refreshes the lock's mtime. */
  updateMs: number;
  /** How long to wait for the lock before giving up with a ConfigError. */
  timeoutMs: number;
}

/**
 * Why these numbers: a holder killed with SIGKILL (or on a machine that lost power) leaves its
 * lock directory behind, and nobody can touch the ledger until it is stale. proper-lockfile's
 * default of 10 s (and many tools' minutes) would stall every rp on the host for that long, so we
 * take over after 5 s. The holder refreshes the mtime every second (proper-lockfile's minimum;
 * default would be stale/2), so a live holder would have to miss four refreshes in a row (event
 * loop blocked for 4 s) before it is wrongly taken over — and even then it would not write, see
 * assertHeld. A transaction itself lasts milliseconds. `staleMs` must be at least twice
 * `updateMs` (checked), and proper-lockfile refreshes at most once a second.
 */
export const DEFAULT_LOCK_SETTINGS: LockSettings = {
  staleMs: 5_000,
  updateMs: 1_000,
  timeoutMs: 30_000,
};

const MIN_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 50;
/** proper-lockfile must never judge a lock stale itself (see the top of this file). */
const NEVER_STALE_MS = Number.MAX_SAFE_INTEGER;

/** The lock may have been taken over by another process; nothing was written. */
export class LedgerLockLostError extends ConfigError {
  constructor(lockPath: string, why: string) {
    super(`lost the ledger lock ${lockPath} (${why}); nothing was written`, {
      hint: 'the process was paused or the disk is very slow; run the command again',
    });
  }
}

export interface HeldLock {
  /**
   * Throws LedgerLockLostError unless the lock is certainly still ours. Called right before each
   * write. "Certainly" is judged by time, not only by proper-lockfile's compromise callback: that
   * callback runs from a timer, and a process paused for longer than `staleMs` (SIGSTOP, swap, a
   * VM pause) gets the callback only after it resumes — possibly after it has written. A holder
   * that has held the lock for less than staleMs/2 cannot have been taken over, because its mtime
   * is at least as recent as the moment it acquired the lock; that leaves half of `staleMs` as
   * margin for the rename that follows the check. Wall-clock time on purpose: other processes
   * judge staleness by comparing the lock's mtime with their wall clock.
   */
  assertHeld(): void;
}

export interface FileLockOptions {
  /** The file the lock protects (need not exist). */
  target: string;
  /** The lock directory. */
  lockPath: string;
  settings: LockSettings;
}

/**
 * Runs `fn` holding the lock, and releases it afterwards whatever happens (`finally`). Calls from
 * one process are queued in memory first, so they do not spin against each other on the lock
 * directory (proper-lockfile also keeps one in-memory record per locked path).
 */
export async function withFileLock<T>(
  options: FileLockOptions,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const { staleMs, updateMs } = options.settings;
  if (updateMs < 1_000 || staleMs < 2 * updateMs) {
    throw new Error(`bug: lock settings need updateMs >= 1000 and staleMs >= 2 * updateMs`);
  }
  return serializeInProcess(options.lockPath, async () => {
    let compromised: Error | undefined;
    const release = await acquire(options, (error) => {
      // Replaces proper-lockfile's default, which throws from a timer and kills the process.
      compromised = error;
      debug('lock %s compromised: %s', options.lockPath, error.message);
    });
    const acquiredAt = Date.now();
    const heldTooLong = () => Date.now() - acquiredAt > options.settings.staleMs / 2;
    debug('locked %s', options.lockPath);
    const held: HeldLock = {
      assertHeld: () => {
        if (compromised) {
          throw new LedgerLockLostError(options.lockPath, 'another rp process took it over');
        }
        if (heldTooLong()) {
          const seconds = ((Date.now() - acquiredAt) / 1000).toFixed(1);
          throw new LedgerLockLostError(
            options.lockPath,
            `held for ${seconds} s, so another rp process may have taken it over`,
          );
        }
      },
    };
    try {
      return await fn(held);
    } finally {
      if (heldTooLong() && !compromised) {
        // proper-lockfile's release removes the lock directory without checking whose it is. After
        // a long pause it may belong to whoever took the lock over, and our compromise callback
        // has not run yet (it runs from proper-lockfile's refresh timer, which compares the lock's
        // mtime with ours). Give that timer one round first; if the lock was taken over, release
        // then does nothing (ERELEASED) instead of unlocking someone else's transaction.
        const until = Date.now() + options.settings.updateMs + 500;
        while (!compromised && Date.now() < until) await sleep(20);
      }
      await release().then(
        () => debug('unlocked %s', options.lockPath),
        (error: NodeJS.ErrnoException) => {
          // ERELEASED: compromised, so the lock is no longer ours to remove. Anything else leaves
          // the directory behind until it is stale; nothing to do about it here but say so.
          debug('releasing %s failed (%s): %s', options.lockPath, error.code, error.message);
        },
      );
    }
  });
}

async function acquire(
  options: FileLockOptions,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  const { staleMs, updateMs, timeoutMs } = options.settings;
  const deadline = Date.now() + timeoutMs;
  let backoff = MIN_BACKOFF_MS;
  for (;;) {
    try {
      return await lockfile.lock(options.target, {
        stale: NEVER_STALE_MS,
        update: updateMs,
        retries: 0,
        realpath: false,
        lockfilePath: options.lockPath,
        onCompromised,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw toConfigError(error, options.lockPath, 'create the lock');
      }
      if (await takeOverIfStale(options.lockPath, staleMs)) continue;
      if (Date.now() >= deadline) {
        throw new ConfigError(
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for the ledger lock ${options.lockPath}`,
          {
            hint:
              'other rp processes kept it busy the whole time; if this repeats, look for a hung rp ' +
              'process (a lock whose holder died is taken over automatically after a few seconds)',
          },
        );
      }
      // Jitter keeps many waiters from retrying in lockstep.
      await sleep(backoff * (0.5 + Math.random() / 2));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

/**
 * Removes the lock directory if its holder has not refreshed it for `staleMs` (it died, or is
 * stopped), and returns true so that the caller tries to lock again at once. Safe against the
 * race in proper-lockfile's own takeover:
 *
 * 1. Only one process takes over at a time: it must create `<lock>.takeover` (mkdir is atomic).
 * 2. Holding that, it looks at the lock again: if another process took over and locked meanwhile,
 *    the lock is fresh now and is left alone.
 * 3. It claims the stale directory by renaming it to a unique name, and removes it only if the
 *    claimed directory is the one it judged stale (same inode and mtime). Otherwise the holder
 *    released and someone else locked between the look and the rename: the directory is put back.
 *
 * The takeover directory is held for milliseconds; one older than `staleMs` was left by a process
 * that died while taking over, and is removed so that takeovers do not stop for good.
 */
async function takeOverIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  const seen = await statIfExists(lockPath);
  if (!seen || !isStale(seen, staleMs)) return false;

  const takeoverPath = `${lockPath}.takeover`;
  try {
    await mkdir(takeoverPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw toConfigError(error, takeoverPath, 'create');
    }
    const takeover = await statIfExists(takeoverPath);
    if (takeover && isStale(takeover, staleMs)) {
      debug('removing abandoned %s', takeoverPath);
      await rmdir(takeoverPath).catch(() => undefined);
    }
    return false;
  }

  try {
    const current = await statIfExists(lockPath);
    if (!current || !isStale(current, staleMs)) return false;
    const claimed = `${lockPath}.stale-${process.pid}-${randomToken()}`;
    try {
      await rename(lockPath, claimed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw toConfigError(error, lockPath, 'take over the stale lock');
    }
    const moved = await statIfExists(claimed);
    if (!moved || moved.ino !== current.ino || moved.mtimeNs !== current.mtimeNs) {
      debug('lock %s changed hands during takeover; putting it back', lockPath);
      await rename(claimed, lockPath).catch(() => undefined);
      return false;
    }
    await rmdir(claimed).catch(() => undefined);
    const age = ((Date.now() - Number(current.mtimeMs)) / 1000).toFixed(1);
    debug('took over lock %s, not refreshed for %s s', lockPath, age);
    return true;
  } finally {
    await rmdir(takeoverPath).catch(() => undefined);
  }
}

function isStale(stats: BigIntStats, staleMs: number): boolean {
  return Number(stats.mtimeMs) < Date.now() - staleMs;
}

async function statIfExists(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw toConfigError(error, path, 'read');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const queues = new Map<string, Promise<void>>();

async function serializeInProcess<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const current = new Promise<void>((resolve) => {
    done = resolve;
  });
  const tail = previous.then(() => current);
  queues.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    done();
    if (queues.get(key) === tail) queues.delete(key);
  }
}
