/**
 * The host-wide ledger lock: proper-lockfile's mkdir lock, with its traps handled.
 *
 * - Fairness: proper-lockfile gives up at once by default (`retries: 0`), and retrying is polling,
 *   in which a newcomer can grab the lock ahead of a process that has waited for long (64
 *   processes on two cores left some waiting 30 s). Waiters line up instead: each puts a ticket
 *   named by its arrival time into `<lock>.waiters/`, and only the first live ticket tries to take
 *   the lock (see lock-line.ts). A wait gives up only when the line has not moved for `timeoutMs`,
 *   i.e. when a holder is hung, never because many others were served first.
 * - Compromise: by default `onCompromised` throws from a timer, which kills the process. We only
 *   record it; the holder then refuses to write (see HeldLock.assertHeld) instead of writing over
 *   the update of whoever took the lock over.
 * - Ownership: proper-lockfile's release removes the lock directory without asking whose it is.
 *   We hand it a file system (lockFs, in lock-ownership.ts) whose rmdir first checks that the
 *   directory is still the one this process created, so a holder that was paused and taken over
 *   never unlocks someone else.
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
import { mkdir, rename, rmdir } from 'node:fs/promises';
import type ProperLockfile from 'proper-lockfile';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { randomToken } from '../host/ids.js';
import { toConfigError } from './fs-errors.js';
import { isStale, statIfExists, Ticket, waitForTurn } from './lock-line.js';
import { forgetOwned, isOwnDir, lockFs, noteOwned, ownedDir } from './lock-ownership.js';

const debug = createDebug('rp:ledger');

export interface LockSettings {
  /** A lock whose mtime is older than this is considered abandoned and taken over. */
  staleMs: number;
  /** How often the holder refreshes the lock's mtime. */
  updateMs: number;
  /**
   * How long to wait without the line moving before giving up with a ConfigError: while the
   * processes ahead keep getting the lock, a waiter waits on however long the line is.
   */
  timeoutMs: number;
  /** Told about each wait (benchmarks and tests); rp itself passes none. */
  observe?: LockObserver;
}

export interface LockObserver {
  /** This process has joined the line; tickets sort in the order of arrival. */
  queued?(ticket: string): void;
  /** It holds the lock now, `waitedMs` after it began to wait for it (monotonic clock). */
  acquired?(wait: { ticket: string; waitedMs: number }): void;
}

/**
 * Why these numbers: a holder killed with SIGKILL (or on a machine that lost power) leaves its
 * lock directory behind, and nobody can touch the ledger until it is stale. proper-lockfile's
 * default of 10 s (and many tools' minutes) would stall every rp on the host for that long, so we
 * take over after 5 s. The holder refreshes the mtime every second (proper-lockfile's minimum;
 * default would be stale/2), so a live holder would have to miss four refreshes in a row (event
 * loop blocked for 4 s) before it is wrongly taken over — and even then it would not write, see
 * assertHeld. A transaction itself lasts milliseconds; a slow disk only makes it longer, and a
 * holder that keeps refreshing its lock keeps it however long its write takes. `staleMs` must be
 * at least twice `updateMs` (checked), and proper-lockfile refreshes at most once a second.
 */
export const DEFAULT_LOCK_SETTINGS: LockSettings = {
  staleMs: 5_000,
  updateMs: 1_000,
  timeoutMs: 30_000,
};

/** The first in line polls a lock held by someone without a ticket (dead, or an older rp). */
const MIN_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 50;
/** How often assertHeld looks again while proper-lockfile's refresh of the lock is late. */
const REFRESH_POLL_MS = 20;
/** proper-lockfile must never judge a lock stale itself (see the top of this file). */
const NEVER_STALE_MS = Number.MAX_SAFE_INTEGER;

/** The lock may have been taken over by another process; nothing was written. */
export class LedgerLockLostError extends ConfigError {
  constructor(lockPath: string, why: string) {
    super(`lost the ledger lock ${lockPath} (${why}); nothing was written`, {
      hint: 'the process was paused for seconds (stopped, swapped out); run the command again',
    });
  }
}

export interface HeldLock {
  /**
   * Resolves while the lock is still ours and rejects with LedgerLockLostError otherwise; awaited
   * right before each write. "Still ours" is looked up at that moment, not guessed from how long
   * the transaction has taken (a slow disk is not a lost lock):
   * - proper-lockfile has not reported compromise;
   * - the lock directory is the one this process created (same inode and birth time, see
   *   OwnedDir), i.e. nobody has taken it over;
   * - its mtime is younger than staleMs/2. Others take a lock over only once its mtime is older
   *   than staleMs, so the rename that follows has staleMs/2 (at least a second) before anyone
   *   may even start to.
   * An older mtime on our own directory means proper-lockfile's refresh is late (a busy event
   * loop, a disk slow even to take the utimes): assertHeld then waits for the refresh, up to
   * staleMs, rather than refuse a write that nobody can have overtaken.
   * The compromise callback alone would not do: it runs from a timer, so a process paused past
   * `staleMs` (SIGSTOP, swap, a VM pause) gets it only after it resumes, possibly after it has
   * written. Wall-clock time on purpose: other processes judge staleness by comparing the lock's
   * mtime with their wall clock.
   */
  assertHeld(): Promise<void>;
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
 * one process are queued in memory first, so that a process has one ticket in the line at a time
 * (proper-lockfile also keeps one in-memory record per locked path).
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
    const waitStarted = performance.now();
    const ticket = await Ticket.take(options);
    try {
      options.settings.observe?.queued?.(ticket.name);
      let compromised: Error | undefined;
      const release = await acquire(options, ticket, (error) => {
        // Replaces proper-lockfile's default, which throws from a timer and kills the process.
        compromised = error;
        debug('lock %s compromised: %s', options.lockPath, error.message);
      });
      const waitedMs = performance.now() - waitStarted;
      options.settings.observe?.acquired?.({ ticket: ticket.name, waitedMs });
      debug('locked %s after %d ms', options.lockPath, Math.round(waitedMs));
      const held: HeldLock = { assertHeld: () => assertOwned(options, () => compromised) };
      try {
        return await fn(held);
      } finally {
        // Removes the directory only if it is still ours: see lockFs.
        await release().then(
          () => debug('unlocked %s', options.lockPath),
          (error: NodeJS.ErrnoException) => {
            // ERELEASED: compromised, so the lock is no longer ours to remove. Anything else leaves
            // the directory behind until it is stale; nothing to do about it here but say so.
            debug('releasing %s failed (%s): %s', options.lockPath, error.code, error.message);
          },
        );
        forgetOwned(options.lockPath);
      }
    } finally {
      // After the release: the removal is what wakes the next in line (see waitForTurn).
      await ticket.leave();
    }
  });
}

async function assertOwned(
  options: FileLockOptions,
  compromised: () => Error | undefined,
): Promise<void> {
  const { lockPath, settings } = options;
  const giveUpAt = Date.now() + settings.staleMs;
  for (;;) {
    if (compromised()) throw new LedgerLockLostError(lockPath, 'another rp process took it over');
    const mine = ownedDir(lockPath);
    if (!mine) throw new Error(`bug: assertHeld on ${lockPath} after its release`);
    if (!mine.certain) {
      throw new LedgerLockLostError(lockPath, 'this process was paused right after taking it');
    }
    const seen = await statIfExists(lockPath);
    if (!seen) throw new LedgerLockLostError(lockPath, 'it was removed');
    if (!isOwnDir(seen, mine)) {
      throw new LedgerLockLostError(lockPath, 'another rp process took it over');
    }
    const ageMs = Date.now() - Number(seen.mtimeMs);
    if (ageMs < settings.staleMs / 2) return;
    if (Date.now() >= giveUpAt) {
      throw new LedgerLockLostError(
        lockPath,
        `not refreshed for ${(ageMs / 1000).toFixed(1)} s, so another rp process may take it over`,
      );
    }
    await sleep(REFRESH_POLL_MS);
  }
}

let loadedLockfile: typeof ProperLockfile | undefined;

/**
 * proper-lockfile, loaded at the first lock rather than with the store: a listing that takes no
 * lock (the common case) does not pay for it and the graceful-fs it brings.
 */
async function properLockfile(): Promise<typeof ProperLockfile> {
  loadedLockfile ??= (await import('proper-lockfile')).default;
  return loadedLockfile;
}

async function acquire(
  options: FileLockOptions,
  ticket: Ticket,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  const { lockPath, settings } = options;
  const stalled = stallCheck(options);
  let backoff = MIN_BACKOFF_MS;
  const lockfile = await properLockfile();
  for (;;) {
    await waitForTurn(options, ticket, stalled);
    const attemptStart = Date.now();
    try {
      const release = await lockfile.lock(options.target, {
        stale: NEVER_STALE_MS,
        update: settings.updateMs,
        retries: 0,
        realpath: false,
        lockfilePath: lockPath,
        onCompromised,
        fs: lockFs,
      });
      await noteOwned(lockPath, attemptStart, settings.staleMs);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw toConfigError(error, lockPath, 'create the lock');
      }
    }
    if (await takeOverIfStale(lockPath, settings.staleMs)) continue;
    // First in line, yet the lock is held: by a process that has no ticket any more (it died, or
    // was stopped long enough for its ticket to be removed: its lock goes stale too), or by an
    // rp from before the line. Nothing wakes us for those; poll.
    const holder = await statIfExists(lockPath);
    stalled(holder ? `held by ${holder.ino}:${holder.birthtimeNs}` : 'free');
    // Jitter keeps us from polling in lockstep with such a holder's own retries.
    await sleep(backoff * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/**
 * Throws the timeout once what this waiter waits on has stayed the same for `timeoutMs`: the
 * first ticket in line while others are ahead (the holder's own ticket is first until it has
 * released), the lock's holder once we are first. A line that moves is waited on however long it
 * is; when the holder hangs, everybody gives up, each `timeoutMs` after it began to wait on it.
 */
function stallCheck(options: FileLockOptions): (waitingOn: string) => void {
  const { lockPath, settings } = options;
  let last: string | undefined;
  let since = Date.now();
  return (waitingOn) => {
    if (waitingOn !== last) {
      last = waitingOn;
      since = Date.now();
      return;
    }
    if (Date.now() - since < settings.timeoutMs) return;
    throw new ConfigError(
      `timed out after ${Math.round(settings.timeoutMs / 1000)} s waiting for the ledger lock ${lockPath}, in which nobody got it`,
      {
        hint:
          'the rp process holding it (or the first one waiting for it) is hung; look for it. A lock ' +
          'whose holder died is taken over automatically after a few seconds',
      },
    );
  };
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
