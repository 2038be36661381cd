import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rmdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { manualClock } from '../../src/host/clock.js';
import { currentProcessRef } from '../../src/host/process.js';
import { writeFileAtomic } from '../../src/ledger/atomic-write.js';
import { LedgerLockLostError, withFileLock } from '../../src/ledger/lock.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ledger's paths, its folder made (the store makes it; these tests lock without a store). */
async function lockablePaths() {
  const paths = ledgerPaths(rpHome);
  await mkdir(paths.dir, { recursive: true });
  return paths;
}

/** Blocks this whole process (its lock refresh timer included), like a stopped or swapped process. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the ledger lock', () => {
  it('keeps the lock through a write slower than staleMs (a slow disk is not a lost lock)', async () => {
    // Given a holder whose write takes longer than staleMs, its refresh timer running meanwhile
    const paths = await lockablePaths();
    const lockOptions = { target: paths.ledger, lockPath: paths.lock, settings: FAST_LOCK };

    // When it writes through the ledger's own check
    await withFileLock(lockOptions, async (lock) => {
      await writeFileAtomic(paths.ledger, 'written\n', {
        mode: 0o644,
        beforeRename: async () => {
          await sleep(FAST_LOCK.staleMs + 1_000); // the fsync of a disk under heavy writeback
          await lock.assertHeld();
        },
      });
    });

    // Then the write is in place, and the lock released
    expect(readFileSync(paths.ledger, 'utf8')).toBe('written\n');
    expect(existsSync(paths.lock)).toBe(false);
  });

  it('writes once after a pause shorter than staleMs, as nobody can have taken the lock over', async () => {
    // Given a transaction whose process stops for longer than staleMs/2 (refresh timer included)
    const store = await open();
    await store.read();
    let decisions = 0;

    // When it goes on to write
    await store.transact((state) => {
      decisions += 1;
      freeze(FAST_LOCK.staleMs * 0.75);
      return { state: { ...state, nextSeq: 5 }, result: undefined };
    });

    // Then its first decision was written
    expect(decisions).toBe(1);
    expect((await store.read()).nextSeq).toBe(5);
  });

  it.each([
    ['renamed away and replaced', (path: string) => rename(path, `${path}.gone`)],
    ['removed and made again, maybe with the same inode number', (path: string) => rmdir(path)],
  ])(
    'refuses to write, and leaves the new lock alone, once its directory was %s',
    async (_case, removeOurs) => {
      const paths = await lockablePaths();
      const lockOptions = { target: paths.ledger, lockPath: paths.lock, settings: FAST_LOCK };

      // Given a holder whose lock directory another process replaces with its own (a real
      // takeover comes staleMs later; the wait keeps the two directories' birth times apart)
      let refusal: unknown;
      await withFileLock(lockOptions, async (lock) => {
        await sleep(50);
        await removeOurs(paths.lock);
        await mkdir(paths.lock);

        // When it is about to write
        refusal = await lock.assertHeld().then(
          () => undefined,
          (error: unknown) => error,
        );
      });

      // Then it refuses to, and its release does not remove the other's lock
      expect(refusal).toBeInstanceOf(LedgerLockLostError);
      expect(existsSync(paths.lock)).toBe(true);
    },
  );

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
