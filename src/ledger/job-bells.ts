/**
 * A bell per waiting job, so that a ledger write wakes only the jobs it concerns. Every waiting
 * `rp run` used to watch the ledger itself: each write woke every waiter, and each read and
 * planned the whole queue, which with a deep queue kept the machine busy doing nothing. Now a
 * waiter hangs a bell (an empty file `<queue>/bells/<id>-<seq>`) and watches only that; the
 * process that writes the ledger rings (appends a byte to) the bells of the jobs whose entry it
 * changed: granted, marked running, killed, finished. Nobody else is woken.
 *
 * A bell that cannot be rung (a file system without inotify, a bell removed) costs only time: a
 * waiter also looks at the ledger every few seconds on its own.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import type { JobKey } from '../core/ledger-state.js';
import { toConfigError } from './fs-errors.js';
import type { LedgerPaths } from './paths.js';
import { makeSharedDir } from './shared-dir.js';
import {
  fileChangeToken,
  waitForFileChange,
  type WaitForChangeOptions,
  type WaitOutcome,
} from './watch.js';

const debug = createDebug('rp:ledger');

export const BELLS_DIR = 'bells';

export function bellPath(paths: LedgerPaths, key: JobKey): string {
  return join(paths.dir, BELLS_DIR, `${key.id}-${key.seq}`);
}

export interface JobBells {
  /** Hangs the bell of `key` (its waiter calls this before it first reads the ledger). */
  hang(key: JobKey): Promise<void>;
  /** The bell's current version, for wait's `since`. Take it before reading the ledger. */
  token(key: JobKey): Promise<string>;
  /** Resolves when the bell of `key` rings (or on timeout/abort). */
  wait(key: JobKey, options: WaitForChangeOptions): Promise<WaitOutcome>;
  /** Rings the bells of `keys` that hang; a job nobody waits for has none. */
  ring(keys: readonly JobKey[]): Promise<void>;
  /** Takes the bell of `key` down (its waiter is done). */
  remove(key: JobKey): Promise<void>;
}

export function jobBells(paths: LedgerPaths, fileMode: number): JobBells {
  const dir = join(paths.dir, BELLS_DIR);
  return {
    hang: async (key) => {
      const path = bellPath(paths, key);
      try {
        await makeSharedDir(dir);
        const handle = await open(path, 'a', fileMode);
        // Whatever the umask: other users' rp processes ring it.
        await handle.chmod(fileMode).finally(() => handle.close());
      } catch (error) {
        throw toConfigError(error, path, 'create');
      }
    },
    token: (key) => fileChangeToken(bellPath(paths, key)),
    wait: (key, options) => waitForFileChange(bellPath(paths, key), options),
    ring: async (keys) => {
      await Promise.all(keys.map((key) => ring(bellPath(paths, key))));
    },
    remove: async (key) => {
      await unlink(bellPath(paths, key)).catch(() => undefined);
    },
  };
}

/** Appends a byte to the bell, never creating one: no waiter, no bell. */
async function ring(path: string): Promise<void> {
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND);
    await handle.write('\n').finally(() => handle.close());
  } catch (error) {
    // No bell (nobody waits on that job), or one we may not write: its waiter's own look at the
    // ledger every few seconds covers it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') debug('could not ring %s: %s', path, (error as Error).message);
  }
}
