import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOCK_SETTINGS, withFileLock } from '../../src/ledger/lock.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { makeTempDir } from '../support/tmp.js';
import type { CompiledWorker } from './fixtures/compile-worker.js';
import { compileLockWorker } from './fixtures/lock-compile.js';
import { killHard, spawnWorker, type SpawnedWorker } from './fixtures/spawn-worker.js';

/**
 * Real processes line up for the real lock on a real directory. Nothing here asserts speed; the
 * bounds only turn a hang into a failure.
 */
const EVENT_TIMEOUT_MS = 20_000;

let rpHome: string;
let orderFile: string;
let cleanup: () => Promise<void>;
let compiled: CompiledWorker;
const workers: SpawnedWorker[] = [];

beforeAll(async () => {
  compiled = await compileLockWorker();
});
afterAll(async () => {
  await compiled.cleanup();
});

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-lock-fair-'));
  orderFile = join(rpHome, 'order.log');
  // The store makes the ledger's folder; these tests lock without a store.
  await mkdir(ledgerPaths(rpHome).dir, { recursive: true });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map(killHard));
  await cleanup();
});

function take(name: string, options: Record<string, unknown> = {}): SpawnedWorker {
  const worker = spawnWorker(compiled.script, 'take', { rpHome, name, orderFile, ...options });
  workers.push(worker);
  return worker;
}

/** Holds the lock in this process until the returned release is called. */
async function holdLock(): Promise<{ release: () => void; done: Promise<void> }> {
  const paths = ledgerPaths(rpHome);
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const done = withFileLock(
    { target: paths.ledger, lockPath: paths.lock, settings: DEFAULT_LOCK_SETTINGS },
    async () => {
      locked();
      await released;
    },
  );
  await isLocked;
  return { release, done };
}

/** Starts the workers one after another, each once the one before has joined the line. */
async function lineUp(names: string[]): Promise<{ workers: SpawnedWorker[]; tickets: string[] }> {
  const started: SpawnedWorker[] = [];
  const tickets: string[] = [];
  for (const name of names) {
    const worker = take(name);
    const queued = await worker.waitFor('queued', EVENT_TIMEOUT_MS);
    started.push(worker);
    tickets.push(String(queued.ticket));
  }
  return { workers: started, tickets };
}

async function served(): Promise<string[]> {
  return (await readFile(orderFile, 'utf8')).trim().split('\n');
}

/** No tickets left, dead ones included: the last to leave the line removes its directory. */
function lineIsGone(): boolean {
  return !existsSync(`${ledgerPaths(rpHome).lock}.waiters`);
}

describe('waiting for the ledger lock', () => {
  it('serves processes in the order they lined up', async () => {
    // Given this process holding the lock, and processes lining up for it one after another
    const holder = await holdLock();
    const names = Array.from({ length: 6 }, (_, index) => `waiter-${index}`);
    const line = await lineUp(names);

    // When the lock is released
    holder.release();
    await holder.done;
    const exits = await Promise.all(line.workers.map((worker) => worker.exit));

    // Then they took it in the order of their tickets, which is the order they arrived in
    expect(exits.every((exit) => exit.code === 0)).toBe(true);
    expect([...line.tickets].sort()).toEqual(line.tickets);
    expect(await served()).toEqual(names);
    expect(lineIsGone()).toBe(true);
    expect(existsSync(ledgerPaths(rpHome).lock)).toBe(false);
  });

  it('is not held up by waiters killed while waiting', async () => {
    // Given four processes in line behind this one
    const holder = await holdLock();
    const line = await lineUp(['first', 'second', 'third', 'fourth']);

    // When the first and the third are killed with SIGKILL, and the lock is released
    await Promise.all([killHard(line.workers[0]!), killHard(line.workers[2]!)]);
    holder.release();
    await holder.done;

    // Then the others get the lock in their order, and the dead ones' tickets are removed
    const exits = await Promise.all([line.workers[1]!.exit, line.workers[3]!.exit]);
    expect(exits.map((exit) => exit.code)).toEqual([0, 0]);
    expect(await served()).toEqual(['second', 'fourth']);
    expect(lineIsGone()).toBe(true);
  });

  it('does not time out while the line keeps moving, however long it is', async () => {
    // Given a line that takes longer than the timeout: each process holds the lock for a while
    const lock = { timeoutMs: 3_000 };
    const goFile = join(rpHome, 'go');
    const names = Array.from({ length: 8 }, (_, index) => `worker-${index}`);
    const started = names.map((name) => take(name, { lock, holdMs: 600, goFile }));
    await Promise.all(started.map((worker) => worker.waitFor('ready', EVENT_TIMEOUT_MS)));

    // When they all want the lock at once
    await writeFile(goFile, '');
    const exits = await Promise.all(started.map((worker) => worker.exit));

    // Then every one of them gets it: the wait is measured from the last time the line moved
    for (const [index, exit] of exits.entries()) {
      expect(exit, `${names[index]}: ${JSON.stringify(started[index]?.events)}`).toEqual({
        code: 0,
        signal: null,
      });
    }
    expect((await served()).sort()).toEqual([...names].sort());
  });
});
