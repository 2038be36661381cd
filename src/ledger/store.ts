/**
 * The host ledger store. There is no daemon: every rp process changes the one ledger file through
 * transact(), which is always a locked read → pure decision → atomic write (temp file, fsync,
 * rename, fsync of the directory), with the lock released in `finally`.
 *
 * Readers that only look (read()) do not take the lock: a write is a rename, so a reader sees one
 * complete version or the next.
 *
 * A ledger that cannot be read (garbage, truncated, not matching the schema, missing) is rebuilt
 * from the injected `recover` (what Docker says is running). A corrupt file is first copied aside
 * to `ledger.json.corrupt-<timestamp>` and never deleted. A ledger written by a newer rp is
 * refused, never rewritten.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { copyFile, readFile, mkdir, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { detachedJobsChanged, SUPERVISOR_BELL } from '../core/host-supervision.js';
import { invalidNextState, parseLedgerText } from '../core/ledger-schema.js';
import {
  changedJobs,
  LEDGER_VERSION,
  type BookingRecord,
  type JobKey,
  type HistoryRecord,
  type JobEntry,
  type LedgerState,
} from '../core/ledger-state.js';
import type { Clock } from '../host/clock.js';
import { fileIdentity, tempPrefix, writeFileAtomic } from './atomic-write.js';
import { toConfigError } from './fs-errors.js';
import { jobBells, type JobBells } from './job-bells.js';
import { appendHistory } from './history.js';
import {
  DEFAULT_LOCK_SETTINGS,
  LedgerLockLostError,
  withFileLock,
  type HeldLock,
  type LockSettings,
} from './lock.js';
import { corruptAsidePath, ledgerPaths, type LedgerPaths } from './paths.js';
import { rebuildLedger, salvageLedgerText } from './rebuild.js';
import {
  fileChangeToken,
  waitForFileChange,
  type WaitForChangeOptions,
  type WaitOutcome,
} from './watch.js';

const debug = createDebug('rp:ledger');

/** What a decision returns: the next state, the caller's result, and lines for the history. */
export interface LedgerDecision<T> {
  /** Return the very state object you were given to change nothing (no write happens). */
  state: LedgerState;
  result: T;
  /** Finished jobs removed by this decision; appended to the history before the ledger write. */
  history?: readonly HistoryRecord[];
  /** Bookings removed by this decision; appended to the booking history the same way. */
  bookingHistory?: readonly BookingRecord[];
}

/** Pure and synchronous: it runs while the host-wide lock is held. */
export type Decide<T> = (state: LedgerState) => LedgerDecision<T>;

/** A decision that also needs what `prepare` read under the same lock (the host's config). */
export type DecideWith<C, T> = (state: LedgerState, context: C) => LedgerDecision<T>;

export interface OpenLedgerOptions {
  /** The host directory; created if missing. */
  rpHome: string;
  clock: Clock;
  /**
   * The jobs that exist according to Docker, used to rebuild an unreadable or missing ledger.
   * Called without the lock held, since it may be slow.
   */
  recover: () => Promise<JobEntry[]>;
  /** Where warnings go (a moved-aside ledger, ...). Default: stderr. */
  warn?: (line: string) => void;
  lock?: Partial<LockSettings>;
  /**
   * Permission bits of the files rp creates here. Default 0o664: every rp user of the host's rp
   * group may append to the history; the ledger itself is replaced by rename, which needs only
   * write access to the directory.
   */
  fileMode?: number;
}

export interface LedgerStore {
  readonly paths: LedgerPaths;
  /** A consistent snapshot of the ledger. */
  read(): Promise<LedgerState>;
  /** One locked read → decide → write. Resolves to the decision's result once it is on disk. */
  transact<T>(decide: Decide<T>): Promise<T>;
  /**
   * A transaction whose decision also needs `prepare`'s answer, read while the lock is held, so
   * that every process decides on the same version of what `prepare` reads.
   */
  transactWith<C, T>(prepare: () => Promise<C>, decide: DecideWith<C, T>): Promise<T>;
  /** Per-job wake-ups: a transaction rings the bells of the jobs whose entry it changed. */
  readonly bells: JobBells;
  /** The ledger's current version, for waitForChange's `since`. Take it before reading. */
  changeToken(): Promise<string>;
  /** Resolves when the ledger changes (or on timeout/abort); see watch.ts. */
  waitForChange(options?: WaitForChangeOptions): Promise<WaitOutcome>;
}

const DEFAULT_FILE_MODE = 0o664;
/** Decisions are pure, so one that lost the lock before writing is simply run again. */
const LOCK_LOST_RETRIES = 2;
/** Rebuilds in a row before giving up (something keeps breaking the file). */
const RECOVERY_ATTEMPTS = 3;
/** Leftovers older than this were left by a crashed process (a live one is done in ms). */
const STALE_TEMP_MS = 60_000;

type Loaded =
  { kind: 'ok'; state: LedgerState } | { kind: 'corrupt'; reason: string } | { kind: 'missing' };

type Unreadable = Exclude<Loaded, { kind: 'ok' }>;

/** One locked attempt at a transaction: done, or the ledger must be rebuilt first. */
type Attempt<T> =
  { kind: 'done'; result: T; changed: JobKey[] } | { kind: 'unreadable'; loaded: Unreadable };

export async function openLedger(options: OpenLedgerOptions): Promise<LedgerStore> {
  const paths = ledgerPaths(options.rpHome);
  const settings: LockSettings = { ...DEFAULT_LOCK_SETTINGS, ...options.lock };
  const fileMode = options.fileMode ?? DEFAULT_FILE_MODE;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`rp: warning: ${line}\n`));
  const lockOptions = { target: paths.ledger, lockPath: paths.lock, settings };
  const bells = jobBells(paths, fileMode);

  try {
    await mkdir(paths.dir, { recursive: true });
  } catch (error) {
    throw toConfigError(error, paths.dir, 'create the host directory');
  }
  await removeStaleTempFiles(paths);

  /**
   * The ledger this process last read or wrote, with the file's identity then: a supervisor or a
   * waiting job reads it again and again, and a deep queue takes milliseconds to parse and check.
   */
  let known: { identity: string; state: LedgerState } | undefined;

  // Synchronous reads, like the writes (see atomic-write.ts): a load is three system calls, most
  // often under the lock.
  async function load(): Promise<Loaded> {
    let text: string;
    let identity: string;
    let fd: number | undefined;
    try {
      fd = openSync(paths.ledger, 'r');
      identity = fileIdentity(fstatSync(fd, { bigint: true }));
      if (known?.identity === identity) return { kind: 'ok', state: known.state };
      text = readFileSync(fd, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw toConfigError(error, paths.ledger, 'read');
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const parsed = parseLedgerText(text);
    if (parsed.kind === 'ok') known = { identity, state: parsed.state };
    if (parsed.kind === 'future') {
      throw new ConfigError(
        `${paths.ledger} was written by a newer rp (ledger version ${parsed.version}; this rp knows version ${LEDGER_VERSION})`,
        { hint: 'upgrade rp: every user on this host must run an rp that knows the newest ledger' },
      );
    }
    return parsed;
  }

  async function write(lock: HeldLock, state: LedgerState): Promise<void> {
    known = undefined;
    const identity = await writeFileAtomic(paths.ledger, `${JSON.stringify(state)}\n`, {
      mode: fileMode,
      beforeRename: () => lock.assertHeld(),
    });
    known = { identity, state };
  }

  /**
   * Rebuilds an unreadable ledger. `recover` may be slow (Docker), so it runs before taking the
   * lock; under the lock the file is read again, and rebuilt only if it is still unreadable —
   * another process may have rebuilt it meanwhile, and its result (plus any transactions since)
   * must not be overwritten.
   */
  async function rebuild(seen: Unreadable): Promise<void> {
    debug('ledger %s unreadable (%s); asking recover()', paths.ledger, describe(seen));
    const entries = await options.recover();
    await withFileLock(lockOptions, async (lock) => {
      const now = await load();
      if (now.kind === 'ok') {
        debug('ledger was rebuilt by another process meanwhile');
        return;
      }
      const salvage =
        now.kind === 'corrupt'
          ? salvageLedgerText(await readFile(paths.ledger, 'utf8').catch(() => ''))
          : undefined;
      const { state, dropped, salvaged } = rebuildLedger(entries, salvage);
      for (const reason of dropped) warn(`left out of the new ledger: ${reason}`);
      await lock.assertHeld();
      const aside = now.kind === 'corrupt' ? await copyAside() : undefined;
      await write(lock, state);
      if (aside !== undefined) {
        const kept =
          salvaged.jobs + salvaged.bookings > 0
            ? `, keeping ${salvaged.jobs} job(s) and ${salvaged.bookings} booking(s) it still held`
            : '';
        warn(
          `the ledger ${paths.ledger} could not be read (${describe(now)}); ` +
            `kept it as ${aside} and rebuilt the ledger from Docker (${state.jobs.length} job(s))${kept}`,
        );
      } else if (state.jobs.length > 0) {
        warn(
          `the ledger ${paths.ledger} was missing; rebuilt it from Docker (${state.jobs.length} job(s))`,
        );
      } else {
        debug('created %s', paths.ledger);
      }
    });
  }

  /**
   * Copies the corrupt file aside (exclusive create: an earlier aside file is never overwritten);
   * the rebuilt ledger is then renamed over the original, so ledger.json never disappears for
   * concurrent readers.
   */
  async function copyAside(): Promise<string> {
    const at = options.clock.now();
    for (let attempt = 0; ; attempt += 1) {
      const aside = corruptAsidePath(paths, at, attempt);
      try {
        await copyFile(paths.ledger, aside, constants.COPYFILE_EXCL);
        return aside;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw toConfigError(error, aside, 'write');
      }
    }
  }

  async function read(): Promise<LedgerState> {
    for (let attempt = 0; attempt <= RECOVERY_ATTEMPTS; attempt += 1) {
      const loaded = await load();
      if (loaded.kind === 'ok') return loaded.state;
      if (attempt < RECOVERY_ATTEMPTS) await rebuild(loaded);
    }
    throw keepsBreaking();
  }

  async function transactOnce<C, T>(
    prepare: () => Promise<C>,
    decide: DecideWith<C, T>,
  ): Promise<Attempt<T>> {
    return withFileLock(lockOptions, async (lock) => {
      const loaded = await load();
      if (loaded.kind !== 'ok') return { kind: 'unreadable', loaded };
      const decision = decide(loaded.state, await prepare());
      const history = decision.history ?? [];
      const bookingHistory = decision.bookingHistory ?? [];
      if (decision.state === loaded.state) {
        if (history.length > 0 || bookingHistory.length > 0) {
          throw new Error('bug: a ledger decision returned history records but no new state');
        }
        return { kind: 'done', result: decision.result, changed: [] };
      }
      // Never write a state that every later read would reject as corrupt.
      const invalid = invalidNextState(loaded.state, decision.state);
      if (invalid !== undefined) {
        throw new Error(`bug: a ledger decision produced an invalid ledger: ${invalid}`);
      }
      await lock.assertHeld();
      const appending = { mode: fileMode, now: options.clock.now() };
      await appendHistory(paths.history, history, appending);
      await appendHistory(paths.bookingHistory, bookingHistory, appending);
      await write(lock, decision.state);
      const changed = changedJobs(loaded.state, decision.state);
      if (detachedJobsChanged(loaded.state, decision.state)) changed.push(SUPERVISOR_BELL);
      return { kind: 'done', result: decision.result, changed };
    });
  }

  async function transactWith<C, T>(
    prepare: () => Promise<C>,
    decide: DecideWith<C, T>,
  ): Promise<T> {
    let lockLost = 0;
    let rebuilds = 0;
    for (;;) {
      let outcome: Attempt<T>;
      try {
        outcome = await transactOnce(prepare, decide);
      } catch (error) {
        if (error instanceof LedgerLockLostError && lockLost < LOCK_LOST_RETRIES) {
          lockLost += 1;
          debug('lock lost before writing; running the transaction again: %s', error.message);
          continue;
        }
        throw error;
      }
      if (outcome.kind === 'done') {
        // After the lock is released: waking the jobs' waiters need not hold up everyone else.
        await bells.ring(outcome.changed);
        return outcome.result;
      }
      if (rebuilds >= RECOVERY_ATTEMPTS) throw keepsBreaking();
      rebuilds += 1;
      await rebuild(outcome.loaded);
    }
  }

  function keepsBreaking(): ConfigError {
    return new ConfigError(`the ledger ${paths.ledger} keeps becoming unreadable`, {
      hint: `something other than rp is writing to ${paths.dir}; stop it, then run rp again`,
    });
  }

  return {
    paths,
    read,
    transact: (decide) =>
      transactWith(
        async () => undefined,
        (state) => decide(state),
      ),
    transactWith,
    bells,
    changeToken: () => fileChangeToken(paths.ledger),
    waitForChange: (waitOptions) => waitForFileChange(paths.ledger, waitOptions),
  };
}

function describe(loaded: Unreadable): string {
  return loaded.kind === 'missing' ? 'missing' : loaded.reason;
}

/**
 * Removes what crashed writers left behind: temp files, and stale lock directories claimed during
 * a takeover (lock.ts). Best effort: they are only clutter.
 */
async function removeStaleTempFiles(paths: LedgerPaths): Promise<void> {
  const prefixes = [tempPrefix(paths.ledger), `${basename(paths.lock)}.stale-`];
  let names: string[];
  try {
    names = await readdir(paths.dir);
  } catch (error) {
    throw toConfigError(error, paths.dir, 'read the host directory');
  }
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const name of names) {
    if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
    const path = join(paths.dir, name);
    try {
      const stats = await stat(path);
      if (stats.mtimeMs < cutoff) {
        await (stats.isDirectory() ? rmdir(path) : unlink(path));
        debug('removed stale temp file %s', path);
      }
    } catch {
      // Gone already, or someone else's file we may not remove: either way, not our problem now.
    }
  }
}
