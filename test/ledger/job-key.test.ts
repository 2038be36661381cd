import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planKill } from '../../src/core/kill.js';
import { MIN_JOB_ID, type JobEntry } from '../../src/core/ledger-state.js';
import { enqueue, type HostPolicy } from '../../src/core/queue-transitions.js';
import { systemClock } from '../../src/host/clock.js';
import { readHistory } from '../../src/ledger/history.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';

/**
 * Ids are four digits and handed out again once a job has left the ledger, so every transition
 * names a job by id AND seq. Here a real second process holds an old entry (id X, seq 1) and acts
 * on it only after X was given to another user's job (seq 2): it must leave that job alone.
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/job-key-worker.ts', import.meta.url));
/** Generous bounds that fail the test instead of hanging it; nothing here asserts speed. */
const EVENT_TIMEOUT_MS = 20_000;

/** Two cores, so that the old job and the new one are both granted, never queued. */
const policy: HostPolicy = {
  capacity: { gpus: [], cpus: [0, 1], memoryMb: 4096 },
  limits: { default: {}, users: {} },
};

interface WorkerEvent {
  event: string;
  [key: string]: unknown;
}

interface Worker {
  waitFor(event: string): Promise<WorkerEvent>;
  exit: Promise<number | null>;
  stderr: () => string;
  kill: () => void;
}

/** Starts job-key-worker.ts as a real process (through tsx) and follows its JSON lines. */
function startWorker(mode: string, options: Record<string, unknown>): Worker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WORKER, mode, JSON.stringify(options)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: WorkerEvent[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as WorkerEvent);
    for (const listener of listeners) listener();
  });
  // 'close' comes after stdout has ended, so every line has been seen by then.
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const waitFor = (event: string): Promise<WorkerEvent> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the worker (${mode}) sent no "${event}"; stderr: ${stderr}`)),
        EVENT_TIMEOUT_MS,
      );
      const check = (): void => {
        const found = events.find((candidate) => candidate.event === event);
        if (!found) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(found);
      };
      listeners.add(check);
      void exit.then(() => {
        check();
        clearTimeout(timer);
        reject(new Error(`the worker (${mode}) exited before "${event}"; stderr: ${stderr}`));
      });
      check();
    });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { waitFor, exit, stderr: () => stderr, kill };
}

describe('jobs are named by id and seq in every transition (real processes, real ledger)', () => {
  let rpHome: string;
  let removeDir: () => Promise<void>;
  let store: LedgerStore;
  const workers: Worker[] = [];

  const start = (mode: string, options: Record<string, unknown>): Worker => {
    const worker = startWorker(mode, { rpHome, policy, ...options });
    workers.push(worker);
    return worker;
  };

  beforeEach(async () => {
    ({ dir: rpHome, cleanup: removeDir } = await makeTempDir('rp-job-key-'));
    store = await openLedger({ rpHome, clock: systemClock, recover: async () => [] });
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      worker.kill();
      await worker.exit;
    }
    await removeDir();
  });

  it("a late mark-running, finish, cancel or kill cleanup of id X seq 1 leaves another user's X seq 2 alone", async () => {
    // Given alice's supervisor, a real process, holding its granted job X (seq 1),
    const alice = start('late', { user: { name: 'alice', uid: 1000 } });
    const old = (await alice.waitFor('queued')).job as JobEntry;
    expect(old).toMatchObject({ user: 'alice', state: 'granted' });
    // whose job is then killed by root (it leaves the ledger with a 'killed' history line),
    const now = systemClock.now();
    const kill = await store.transact((state) =>
      planKill(state, old.id, { name: 'root', uid: 0 }, policy, now),
    );
    expect(kill).toMatchObject({ action: 'removed', job: { id: old.id, seq: old.seq } });
    // and bob's new submission given the very same id X, with the next seq, granted at once.
    const bob = await store.transact((state) =>
      enqueue(
        state,
        {
          user: 'bob',
          uid: 1001,
          project: { path: '/home/bob/proj', name: 'proj' },
          kind: 'run',
          command: 'eval.sh',
          request: { gpus: 0, cpus: 1, memoryMb: 512 },
          submittedAt: now.toISOString(),
          supervisor: { pid: process.pid, startTime: '1' },
        },
        policy,
        now,
        // allocateJobId starts its probe here: the id that just became free is X.
        () => Number(old.id) - MIN_JOB_ID,
      ),
    );
    expect(bob).toMatchObject({ id: old.id, seq: old.seq + 1, user: 'bob', state: 'granted' });
    const ledgerBefore = await store.read();
    const historyBefore = (await readHistory(store.paths.history)).records;
    expect(historyBefore).toEqual([expect.objectContaining({ id: old.id, user: 'alice' })]);

    // When alice's process, late, marks "its" job X running, finishes it, cancels it and removes
    // it as a stopped job, each in a locked transaction of its own,
    const late = await alice.waitFor('late');
    expect(await alice.exit, alice.stderr()).toBe(0);

    // Then none of them touched bob's job: no transition found it, the ledger is as it was and
    // no history line was written. Before jobs were keyed by id and seq, markRunning(state, id)
    // recorded alice's container on bob's granted entry (markedRunning: true) and
    // finish(state, id) removed bob's entry with an 'exited' line (finished: true, and the
    // ledger/history assertions below fail).
    expect(late).toEqual({
      event: 'late',
      markedRunning: false,
      finished: false,
      cancelled: false,
      removedStopped: false,
    });
    expect(await store.read()).toEqual(ledgerBefore);
    expect((await store.read()).jobs).toEqual([bob]);
    expect((await readHistory(store.paths.history)).records).toEqual(historyBefore);

    // and the process that does hold bob's key (X, seq 2) still moves it: the same transitions
    // act when the key matches.
    const owner = start('own', { key: { id: bob.id, seq: bob.seq } });
    expect(await owner.waitFor('own')).toEqual({
      event: 'own',
      markedRunning: true,
      finished: true,
    });
    expect(await owner.exit, owner.stderr()).toBe(0);
    expect((await store.read()).jobs).toEqual([]);
    expect((await readHistory(store.paths.history)).records).toEqual([
      ...historyBefore,
      expect.objectContaining({ id: bob.id, user: 'bob', ending: 'exited', exitCode: 0 }),
    ]);
  });
});
