import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { readHistory } from '../../src/ledger/history.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';
import { compileWorker, type CompiledWorker } from './fixtures/compile-worker.js';
import { killHard, spawnWorker, type SpawnedWorker } from './fixtures/spawn-worker.js';

/**
 * Many real rp-like processes share one ledger through the real lock on a real directory, while
 * some waiting processes and one lock holder are killed with SIGKILL. The lock settings are the
 * production defaults, so this also shows a dead holder's lock being taken over within seconds —
 * by exactly one of the many processes waiting for it (this test caught proper-lockfile's own
 * takeover letting two in at once; see src/ledger/lock.ts).
 */
// 24 processes contend as hard as 50 for a capacity of 3, at half the machine time: the suite runs on
// two cores, often beside other work.
const CYCLERS = 24;
const WAITERS = 6;
const CAPACITY = 3;
/** Generous bounds that fail the test instead of hanging it; nothing here asserts speed. */
const STARTUP_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 100_000;

let rpHome: string;
let cleanup: () => Promise<void>;
let store: LedgerStore;
const workers: SpawnedWorker[] = [];
let compiled: CompiledWorker;

beforeAll(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-race-'));
  compiled = await compileWorker();
  store = await openLedger({ rpHome, clock: systemClock, recover: async () => [] });
  await store.read();
});
afterAll(async () => {
  await Promise.all(workers.map(killHard));
  await cleanup();
  await compiled.cleanup();
});

function start(mode: string, options: Record<string, unknown>): SpawnedWorker {
  const worker = spawnWorker(compiled.script, mode, { rpHome, ...options });
  workers.push(worker);
  return worker;
}

function withinTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  explain: () => Promise<string>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void explain().then((details) =>
        reject(new Error(`${what} did not finish within ${ms} ms\n${details}`)),
      );
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What a failed run needs to be understood: the ledger, and where each unfinished worker is. */
async function describeStuck(cyclers: SpawnedWorker[]): Promise<string> {
  const lines = [`ledger: ${await readFile(store.paths.ledger, 'utf8').catch(String)}`];
  lines.push(`lock held: ${existsSync(store.paths.lock)}`);
  for (const [index, cycler] of cyclers.entries()) {
    if (cycler.child.exitCode !== null || cycler.child.signalCode !== null) continue;
    const events = cycler.events.map((event) => JSON.stringify(event)).join(' ');
    lines.push(`cycler-${index} (pid ${cycler.pid}): ${events} ${cycler.stderr()}`);
  }
  return lines.join('\n');
}

/** The largest number of workers between "start" and "end" at once, per the events file. */
function maxConcurrent(lines: string[]): number {
  let current = 0;
  let max = 0;
  for (const line of lines) {
    current += line.startsWith('start ') ? 1 : -1;
    max = Math.max(max, current);
  }
  return max;
}

describe('many processes racing on one ledger', () => {
  it(`${CYCLERS} submit-wait-hold-release cycles stay consistent while waiters and a lock holder are SIGKILLed`, async () => {
    const eventsFile = join(rpHome, 'holds.log');

    // Given queued jobs whose supervisors will die, and a process holding the ledger lock
    const waiters = Array.from({ length: WAITERS }, (_, index) =>
      start('wait', { name: `waiter-${index}` }),
    );
    const queued = await Promise.all(
      waiters.map((waiter) => waiter.waitFor('queued', STARTUP_TIMEOUT_MS)),
    );
    const holder = start('hold-lock', { name: 'holder' });
    await holder.waitFor('locked', STARTUP_TIMEOUT_MS);

    // When the lock holder is killed -9, leaving its lock behind (killed before the cyclers start:
    // on a loaded machine, spawning them can take longer than the stale time, and a holder
    // starved that long is rightly taken over while alive), and many workers start cycling while
    // the waiters are killed -9
    await killHard(holder);
    expect(existsSync(store.paths.lock)).toBe(true);
    const cyclers = Array.from({ length: CYCLERS }, (_, index) =>
      start('cycle', { name: `cycler-${index}`, capacity: CAPACITY, holdMs: 20, eventsFile }),
    );
    await Promise.all(waiters.map(killHard));

    // Then every worker gets through: the stale lock is taken over, the dead jobs at the head
    // of the queue are reaped by the workers themselves
    const exits = await withinTimeout(
      Promise.all(cyclers.map((cycler) => cycler.exit)),
      RUN_TIMEOUT_MS,
      'the cycling workers',
      () => describeStuck(cyclers),
    );
    for (const [index, exit] of exits.entries()) {
      expect(exit, `cycler-${index}: ${cyclers[index]?.stderr()}`).toEqual({
        code: 0,
        signal: null,
      });
    }

    // Never more than CAPACITY holders at once
    const holds = (await readFile(eventsFile, 'utf8')).trim().split('\n');
    expect(holds).toHaveLength(2 * CYCLERS);
    expect(maxConcurrent(holds)).toBeLessThanOrEqual(CAPACITY);
    for (let index = 0; index < CYCLERS; index += 1) {
      expect(holds.filter((line) => line === `start cycler-${index}`)).toHaveLength(1);
      expect(holds.filter((line) => line === `end cycler-${index}`)).toHaveLength(1);
    }

    // Every submission took effect exactly once: distinct seqs 1..N, nothing left behind
    const done = await Promise.all(cyclers.map((cycler) => cycler.waitFor('done', 1_000)));
    const seqs = [...queued, ...done].map((event) => event.seq as number).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: WAITERS + CYCLERS }, (_, index) => index + 1));
    const final = await store.read();
    expect(final.jobs).toEqual([]);
    expect(final.nextSeq).toBe(WAITERS + CYCLERS + 1);

    // Every job is in the history exactly once, with how it ended
    const history = await readHistory(store.paths.history);
    expect(history.skippedLines).toBe(0);
    const endings = history.records.map((record) => `${record.command} ${record.ending}`).sort();
    const expected = [
      ...Array.from({ length: CYCLERS }, (_, index) => `cycler-${index} exited`),
      ...Array.from({ length: WAITERS }, (_, index) => `waiter-${index} reaped`),
    ].sort();
    expect(endings).toEqual(expected);

    // Nothing locked, no temp files
    expect(existsSync(store.paths.lock)).toBe(false);
    const names = await readdir(rpHome);
    expect(names.filter((name) => name.includes('.tmp-'))).toEqual([]);
  }, 150_000);
});
