/**
 * Waking up when the ledger changes, without a daemon to send notifications. A waiting rp
 * process watches the host directory with fs.watch (inotify on Linux), so when a job ends the next
 * one starts within milliseconds instead of after a fixed sleep.
 *
 * The directory is watched, not the file: every write renames a new file over ledger.json, so a
 * watch on the file would follow the old, replaced inode and never fire again. Events for other
 * names (the lock directory, temp files, history) are ignored. A slow poll runs as well, because
 * inotify is not always there (network file systems, exhausted watch limits) and cannot see
 * writes from other machines.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import createDebug from 'debug';
import { toConfigError } from './fs-errors.js';

const debug = createDebug('rp:ledger');

export const DEFAULT_POLL_MS = 2_000;

/**
 * A token for the file's current version: device, inode, size, mtime and ctime. Every write
 * renames a new file into place, so the inode changes; an inode number can be reused, but not
 * together with the same size and nanosecond mtime and ctime.
 */
export async function fileChangeToken(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw toConfigError(error, path, 'read');
  }
}

export interface WaitForChangeOptions {
  /**
   * The token (fileChangeToken) of the version the caller last saw; returns at once if the file
   * is already different. Take it *before* reading, so a change between the read and the start of
   * the wait is not missed. Defaults to the file's version when the wait starts.
   */
  since?: string;
  /** Give up after this long (returns 'timeout'). Default: wait without limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The fallback poll interval. */
  pollMs?: number;
  /** Set false to poll only, e.g. where inotify is known not to work. Default true. */
  watch?: boolean;
}

export type WaitOutcome = 'changed' | 'timeout' | 'aborted';

/** Resolves when the file at `path` differs from `since`, on timeout, or on abort. */
export async function waitForFileChange(
  path: string,
  options: WaitForChangeOptions = {},
): Promise<WaitOutcome> {
  const since = options.since ?? (await fileChangeToken(path));
  const { signal } = options;
  if (signal?.aborted) return 'aborted';
  const name = basename(path);

  return new Promise<WaitOutcome>((resolve, reject) => {
    let settled = false;
    let watcher: FSWatcher | undefined;
    let timeout: NodeJS.Timeout | undefined;

    const cleanup = () => {
      settled = true;
      watcher?.close();
      clearInterval(poll);
      if (timeout) clearTimeout(timeout);
      signal?.removeEventListener('abort', onAbort);
    };
    const finish = (outcome: WaitOutcome) => {
      if (settled) return;
      cleanup();
      resolve(outcome);
    };
    const check = () => {
      fileChangeToken(path).then(
        (token) => {
          if (token !== since) finish('changed');
        },
        (error: unknown) => {
          if (settled) return;
          cleanup();
          reject(error);
        },
      );
    };
    const onAbort = () => finish('aborted');

    try {
      if (options.watch === false) throw new Error('watching is turned off');
      watcher = watch(dirname(path), (_event, filename) => {
        // No filename means the platform could not say which entry changed: check anyway.
        if (filename === null || filename === name) check();
      });
      watcher.on('error', (error) => {
        debug('watching %s failed, polling only: %s', dirname(path), error.message);
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      debug('cannot watch %s, polling only: %s', dirname(path), (error as Error).message);
    }
    const poll = setInterval(check, options.pollMs ?? DEFAULT_POLL_MS);
    if (options.timeoutMs !== undefined) {
      timeout = setTimeout(() => finish('timeout'), options.timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    // The file may have changed after `since` was taken and before the watch started.
    check();
  });
}
