/**
 * A transaction on a deep queue: the ledger holds N queued entries (an array of N tasks waiting
 * behind a job that holds every core), and one process times single transactions on it, the ones
 * a real job causes: a submission (enqueue, which plans the whole queue) and its removal (finish,
 * which plans it again). Through the real store, lock and file system. Not a test; run by hand:
 *
 *   node --import tsx bench/deep-ledger.ts [--json] [--entries N] [--transactions N] [--dir PATH]
 *
 * Prints the median and 99th percentile of a transaction's wall time, from asking for the lock to
 * the write being on disk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEntry } from '../src/core/ledger-state.js';
import {
  enqueue,
  enqueueArray,
  finish,
  type HostPolicy,
  type NewJob,
} from '../src/core/queue-transitions.js';
import { systemClock } from '../src/host/clock.js';
import { systemRandomInt } from '../src/host/ids.js';
import { currentProcessRef } from '../src/host/process.js';
import { openLedger } from '../src/ledger/store.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

const entries = Number(option('--entries', '1000'));
const transactions = Number(option('--transactions', '200'));
const base = await mkdtemp(join(option('--dir', tmpdir()), 'rp-bench-deep-'));
try {
  const store = await openLedger({ rpHome: base, clock: systemClock, recover: async () => [] });
  const policy: HostPolicy = {
    capacity: { gpus: [], cpus: [0, 1], memoryMb: 16 * 1024 },
    limits: { default: {}, users: {} },
  };
  const supervisor = await currentProcessRef();
  const job = (user: string, cpus: number): NewJob => ({
    user,
    uid: 1000,
    project: { path: `/home/${user}/p`, name: 'p' },
    kind: 'run',
    command: 'train.sh --seed {i}',
    request: { gpus: 0, cpus, memoryMb: 512 },
    submittedAt: systemClock.now().toISOString(),
    supervisor,
    image: 'rp/bench-p:0123abcd',
    detached: { launch: 'bench.json' },
  });
  const now = (): Date => systemClock.now();
  // The holder takes both cores; then N tasks queue behind it, by four users.
  await store.transact((state) => enqueue(state, job('holder', 2), policy, now(), systemRandomInt));
  for (let user = 0; user < 4; user += 1) {
    const tasks = Array.from({ length: Math.ceil(entries / 4) }, (_, task) => ({
      task,
      command: `train.sh --seed ${task}`,
    }));
    await store.transact((state) =>
      enqueueArray(state, job(`user${user}`, 1), tasks, {}, policy, now(), systemRandomInt),
    );
  }

  const times: number[] = [];
  for (let index = 0; index < transactions; index += 2) {
    let started = performance.now();
    const added = await store.transact((state) =>
      enqueue(state, job('probe', 1), policy, now(), systemRandomInt),
    );
    times.push(performance.now() - started);
    started = performance.now();
    await store.transact((state) =>
      finish(
        state,
        added as JobEntry,
        { ending: 'cancelled', endedAt: now().toISOString() },
        policy,
        now(),
      ),
    );
    times.push(performance.now() - started);
  }
  const result = {
    entries: (await store.read()).jobs.length,
    transactions: times.length,
    medianMs: percentile(times, 50),
    p99Ms: percentile(times, 99),
  };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      `${result.transactions} transactions on ${result.entries} entries: median ${result.medianMs.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms\n`,
    );
} finally {
  await rm(base, { recursive: true, force: true });
}
