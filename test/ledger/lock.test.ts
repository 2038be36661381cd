import { existsSync, readFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { manualClock } from '../../src/host/clock.js';
import { currentProcessRef } from '../../src/host/process.js';
import { openLedger } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';
import { compileWorker, type CompiledWorker } from './fixtures/compile-worker.js';
import { addJob } from './fixtures/jobs.js';
import { killHard, spawnWorker, type SpawnedWorker } from './fixtures/spawn-worker.js';

/** The shortest staleness proper-lockfile allows, so these tests wait 2 s rather than 5. */
const FAST_LOCK = { staleMs: 2_000, updateMs: 1_000, timeoutMs: 20_000 };

let rpHome: string;
let cleanup: () => Promise<void>;
const workers: SpawnedWorker[] = [];
let worker: CompiledWorker;

beforeAll(async () => {
  worker = await compileWorker();
});
afterAll(async () => {
  await worker.cleanup();
});

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-lock-'));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map(killHard));
  await cleanup();
});

function open(lock = FAST_LOCK) {
  return openLedger({ rpHome, clock: manualClock(), recover: async () => [], lock });
}

/** Blocks this whole process (its lock refresh timer included), like a stopped or swapped process. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the ledger lock', () => {
  it('refuses to write after being paused past staleness, and runs the decision again', async () => {
    // Given another process waiting for this one's lock
    const store = await open();
    await store.read();
    const stealer = spawnWorker(worker.script, 'steal', {
      rpHome,
      name: 'stealer',
      lock: FAST_LOCK,
    });
    workers.push(stealer);
    await stealer.waitFor('ready', 20_000);
    const me = await currentProcessRef();

    // When this process is frozen inside its decision until the other has taken the lock over
    // and written its own job
    let decisions = 0;
    const seen = await store.transact((state) => {
      decisions += 1;
      if (decisions === 1) {
        const deadline = Date.now() + 20_000;
        while (!readFileSync(store.paths.ledger, 'utf8').includes('stealer')) {
          if (Date.now() > deadline) throw new Error('the other process never took the lock over');
          freeze(50);
        }
      }
      const added = addJob(state, '9001', me, 'me', 'x');
      return { state: added.state, result: state.jobs.map((job) => job.command) };
    });
    await stealer.waitFor('written', 20_000);

    // Then its first, stale decision was not written over the other's update; the second one
    // saw that update and kept it
    expect(decisions).toBe(2);
    expect(seen).toEqual(['stealer']);
    const final = await store.read();
    expect(final.jobs.map((job) => job.command).sort()).toEqual(['me', 'stealer']);
    expect(final.nextSeq).toBe(3);
    expect(existsSync(store.paths.lock)).toBe(false);
  });

  it('is taken over when its holder was killed with SIGKILL', async () => {
    // Given a process that took the lock and was killed while holding it
    const store = await open();
    await store.read();
    const holder = spawnWorker(worker.script, 'hold-lock', {
      rpHome,
      name: 'holder',
      lock: FAST_LOCK,
    });
    workers.push(holder);
    await holder.waitFor('locked', 20_000);
    await killHard(holder);
    expect(existsSync(store.paths.lock)).toBe(true);

    // When this process needs the ledger, then it gets it once the lock is stale
    await store.transact((state) => ({ state: { ...state, nextSeq: 7 }, result: undefined }));
    expect((await store.read()).nextSeq).toBe(7);
    expect(existsSync(store.paths.lock)).toBe(false);
  });

  it('gives up with a ConfigError when a live holder keeps the lock too long', async () => {
    const store = await open({ ...FAST_LOCK, timeoutMs: 300 });
    await store.read();
    // A live holder that keeps its lock fresh, as a hung-but-running rp would.
    const release = await lockfile.lock(store.paths.ledger, {
      lockfilePath: store.paths.lock,
      realpath: false,
      stale: 2_000,
      update: 1_000,
    });
    try {
      const failure = store.transact((state) => ({ state, result: undefined }));
      await expect(failure).rejects.toThrow(ConfigError);
      await expect(failure).rejects.toThrow(/timed out .* waiting for the ledger lock/);
    } finally {
      await release();
    }
  });
});
