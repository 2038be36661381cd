/**
 * Images pinned by the rp processes preparing a job. A job's image is protected by its ledger
 * entry once it is queued (see build-image.ts), but a process that has just built, or found, its
 * image has not queued the job yet: a rebuild of the same project by someone else could remove
 * the image in between, and the job would fail at create. So a preparing process pins the image
 * first (one file per process, `<queue>/pins/<pid>-<start time>`, holding the reference), and
 * older images are removed only when neither an entry nor a live process's pin names them. A pin
 * of a process that has ended counts for nothing and is removed by whoever sees it.
 */
import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import { currentProcessRef, isProcessAlive } from '../host/process.js';
import { toConfigError } from './fs-errors.js';
import type { LedgerPaths } from './paths.js';
import { makeSharedDir } from './shared-dir.js';

const debug = createDebug('rp:ledger');

export const PINS_DIR = 'pins';
const PIN_NAME = /^(\d+)-(\d+)$/;

/** Pins `reference` for as long as this process lives (a later pin replaces it). */
export async function pinImage(paths: LedgerPaths, reference: string): Promise<void> {
  const me = await currentProcessRef();
  const dir = join(paths.dir, PINS_DIR);
  const file = join(dir, `${me.pid}-${me.startTime}`);
  try {
    await makeSharedDir(dir);
    await writeFile(file, `${reference}\n`, { mode: 0o664 });
  } catch (error) {
    throw toConfigError(error, file, 'write');
  }
}

/** The images pinned by live processes; the pins of ended ones are removed on the way. */
export async function pinnedImages(paths: LedgerPaths): Promise<Set<string>> {
  const dir = join(paths.dir, PINS_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return new Set();
  }
  const pinned = new Set<string>();
  for (const name of names) {
    const match = PIN_NAME.exec(name);
    if (!match?.[1] || !match[2]) continue;
    const file = join(dir, name);
    const alive = await isProcessAlive({ pid: Number(match[1]), startTime: match[2] });
    if (!alive) {
      await unlink(file).then(
        () => debug('removed the image pin of ended process %s', name),
        () => undefined,
      );
      continue;
    }
    const reference = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (reference !== '') pinned.add(reference);
  }
  return pinned;
}
