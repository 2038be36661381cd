/**
 * The line of processes waiting for the ledger lock (see lock.ts): each waiter's ticket in
 * `<lock>.waiters/`, in the order of arrival, and the wait for one's turn. Only the first live
 * ticket may try to take the lock, so nobody is overtaken by a newcomer.
 */
import { watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readdir, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import createDebug from 'debug';
import type { ProcessRef } from '../core/ledger-state.js';
import { randomToken } from '../host/ids.js';
import { currentProcessRef, isProcessAlive } from '../host/process.js';
import { toConfigError } from './fs-errors.js';

const debug = createDebug('rp:ledger');

/** What the line needs to know of the lock it leads to. */
export interface LineOptions {
  lockPath: string;
  settings: { staleMs: number; updateMs: number };
}

/**
 * How often a waiter looks at the line without being woken: the process ahead of it may have died
 * (nothing wakes anyone then) or inotify may not work here. Waiting costs a readdir and a look at
 * one process this often, whatever the length of the line; with 64 waiters on two busy cores,
 * looking four times as often cost half the throughput.
 */
const LINE_POLL_MS = 1_000;
/**
 * Waiters line up in `<lock>.waiters/`: one empty file each, named so that names sort by arrival
 * (zero-padded wall-clock milliseconds; ties are arrivals in the same millisecond, in either
 * order), then the process's pid and start time (who it is, so that a reused pid is not taken for
 * it) and a random part. The file stays while its process waits and while it holds the lock, and
 * is removed after the release; its mtime is refreshed every `updateMs` meanwhile. The
 * directory exists only while someone is in line.
 */
export class Ticket {
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    readonly dir: string,
    private readonly options: LineOptions,
    private readonly me: ProcessRef,
    public name: string,
  ) {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(join(this.dir, this.name), now, now).catch(() => undefined);
    }, options.settings.updateMs);
    this.heartbeat.unref();
  }

  static async take(options: LineOptions): Promise<Ticket> {
    const dir = `${options.lockPath}.waiters`;
    const me = await currentProcessRef();
    return new Ticket(dir, options, me, await makeTicket(dir, me, options.lockPath));
  }

  /** A new ticket at the end of the line: this process was paused and its old one removed. */
  async retake(): Promise<void> {
    this.name = await makeTicket(this.dir, this.me, this.options.lockPath);
    debug('lost my place in line for %s; waiting again as %s', this.options.lockPath, this.name);
  }

  /** Leaves the line; the last to leave removes the directory, so an idle host keeps none. */
  async leave(): Promise<void> {
    clearInterval(this.heartbeat);
    await unlink(join(this.dir, this.name)).catch(() => undefined);
    await rmdir(this.dir).then(
      () => emptiedByUs.add(this.dir),
      () => emptiedByUs.delete(this.dir), // ENOTEMPTY: others are waiting
    );
  }
}

/** Waiters directories this process removed when it last left their line (see Ticket.leave). */
const emptiedByUs = new Set<string>();
/** The mode of each waiters directory, taken from its parent once per process. */
const waitersDirModes = new Map<string, number>();

const TICKET_NAME = /^\d{15}-(\d+)-(\d+)-[0-9a-f]+$/;

async function makeTicket(dir: string, me: ProcessRef, lockPath: string): Promise<string> {
  const name = `${String(Date.now()).padStart(15, '0')}-${me.pid}-${me.startTime}-${randomToken(4)}`;
  // The directory is missing when nobody waits (surely so if we removed it ourselves when we last
  // left: then make it first), and the last one to leave may remove it between our mkdir and our
  // create: then make it again.
  let makeDir = emptiedByUs.has(dir);
  try {
    for (let attempt = 1; ; attempt += 1) {
      if (makeDir) await makeWaitersDir(dir);
      try {
        await writeFile(join(dir, name), '', { flag: 'wx' });
        return name;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 10) throw error;
        makeDir = true;
      }
    }
  } catch (error) {
    throw toConfigError(error, lockPath, 'create the lock');
  }
}

/**
 * The waiters directory gets the host directory's permissions whatever this process's umask
 * (`rp host init` makes that 2775 for the rp group), so that every rp user can line up, but never
 * a sticky bit: whoever sees a dead process's ticket must be able to remove it.
 */
async function makeWaitersDir(dir: string): Promise<void> {
  let mode = waitersDirModes.get(dir);
  if (mode === undefined) {
    mode = (await stat(dirname(dir))).mode & 0o2777;
    waitersDirModes.set(dir, mode);
  }
  try {
    await mkdir(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  await chmod(dir, mode).catch(() => undefined);
}

/**
 * Resolves once `ticket` is the first live ticket in line. Each waiter watches only the ticket
 * just ahead of its own (inotify on that one file), so a release wakes the next in line and not
 * the whole line; a look every LINE_POLL_MS catches what no event announces. A ticket whose
 * process is gone (or whose pid now belongs to a process with another start time), or that has
 * not been refreshed for `staleMs` (a stopped process), is removed by whoever sees it, so that
 * nobody dead or frozen holds up the line.
 */
export async function waitForTurn(
  options: LineOptions,
  ticket: Ticket,
  stalled: (waitingOn: string) => void,
): Promise<void> {
  const { staleMs } = options.settings;
  for (;;) {
    const line = await readLine(ticket.dir, options.lockPath);
    const index = line.indexOf(ticket.name);
    if (index === -1) {
      await ticket.retake();
      continue;
    }
    // The live ticket just ahead of ours, if any: the one to watch.
    const previous = await lastLive(ticket.dir, line.slice(0, index), staleMs);
    if (previous === undefined) return;
    stalled(`behind ${line[0]}`);
    await waitForRemoval(join(ticket.dir, previous), LINE_POLL_MS);
  }
}

/** The ticket names in `dir`, in the order of arrival. */
async function readLine(dir: string, lockPath: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => TICKET_NAME.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw toConfigError(error, lockPath, 'wait for');
  }
}

/**
 * The last live ticket of `names`, removing the dead ones met on the way (each dead ticket is
 * thus removed by the first live waiter behind it). Usually the first one looked at is alive, so
 * a waiter looks at one ticket, not at the whole line.
 */
async function lastLive(
  dir: string,
  names: readonly string[],
  staleMs: number,
): Promise<string | undefined> {
  for (const name of [...names].reverse()) {
    if (await isLiveTicket(dir, name, staleMs)) return name;
    await unlink(join(dir, name)).then(
      () => debug('removed the ticket %s of a waiter that is gone', name),
      () => undefined, // removed by someone else already, or not ours to remove: skip it
    );
  }
  return undefined;
}

async function isLiveTicket(dir: string, name: string, staleMs: number): Promise<boolean> {
  const [, pid, startTime] = TICKET_NAME.exec(name) ?? [];
  if (pid === undefined || startTime === undefined) return false;
  const stats = await statIfExists(join(dir, name));
  if (!stats || isStale(stats, staleMs)) return false;
  // In doubt (cannot read /proc), alive: a wrongly kept ticket costs a wait, never safety.
  return isProcessAlive({ pid: Number(pid), startTime }).catch(() => true);
}

/**
 * Resolves when the file at `path` is removed, or after `ms` at the latest (the poll; also all
 * there is where inotify is not: network file systems, no watches left).
 */
function waitForRemoval(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      // 'rename' is the file's removal (inotify's IN_DELETE_SELF); 'change' is its heartbeat.
      watcher = watch(path, { persistent: false }, (event) => {
        if (event === 'rename') done();
      });
      watcher.on('error', () => watcher?.close());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') done(); // removed already
    }
  });
}

export function isStale(stats: BigIntStats, staleMs: number): boolean {
  return Number(stats.mtimeMs) < Date.now() - staleMs;
}

export async function statIfExists(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw toConfigError(error, path, 'read');
  }
}
