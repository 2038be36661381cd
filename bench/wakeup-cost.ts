/**
 * What one wake-up of a waiting `rp run` costs, by queue length. Every ledger change wakes every
 * waiting rp process (each watches the host directory), and each then does what waitForGrant in
 * src/services/run-job.ts does: take the change token, read and validate the ledger, run the
 * scheduler, describe the queue. With W waiters and C changes per job, a drain of N jobs costs
 * about N x C x W wake-ups, so this per-wake-up cost times W is the CPU a single change costs.
 *
 *   node --import tsx bench/wakeup-cost.ts [--json]
 *
 * Not a test; a probe for section 4 of bench/run.ts (see bench/README.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPolicy } from '../src/core/queue-transitions.js';
import type { JobEntry, LedgerState } from '../src/core/ledger-state.js';
import { schedule } from '../src/core/queue-transitions.js';
import { describeQueue } from '../src/core/scheduler.js';
import { systemClock } from '../src/host/clock.js';
import { openLedger } from '../src/ledger/store.js';
import { summarize } from './stats.js';

const QUEUE_LENGTHS = [10, 50, 100, 200];
const ITERATIONS = 60;

const policy: HostPolicy = {
  capacity: { gpus: [], cpus: [0, 1], memoryMb: 20_000 },
  limits: { default: {}, users: {} },
};

function job(seq: number, state: 'queued' | 'running'): JobEntry {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();
  return {
    id: String(1000 + seq),
    seq,
    user: 'bench',
    uid: 0,
    project: { path: '/bench', name: 'bench' },
    kind: 'run',
    command: 'true.sh',
    request: { gpus: 0, cpus: 1, memoryMb: 256 },
    state,
    submittedAt: at,
    supervisor: { pid: 100_000 + seq, startTime: String(seq) },
    logFile: `/bench/.rp/logs/bench_${seq}.log`,
    ...(state === 'running'
      ? {
          grant: { gpus: [], cpus: [seq - 1], memoryMb: 256 },
          grantedAt: at,
          startedAt: at,
          container: { id: `c${seq}`, name: `rp${1000 + seq}` },
        }
      : {}),
  };
}

async function costAt(queued: number): Promise<{ queued: number; ms: number[] }> {
  const rpHome = await mkdtemp(join(tmpdir(), 'rp-wakeup-'));
  try {
    const store = await openLedger({ rpHome, clock: systemClock, recover: async () => [] });
    // Both CPUs held, `queued` jobs waiting behind them: nothing can be granted.
    const jobs = [job(1, 'running'), job(2, 'running')];
    for (let i = 0; i < queued; i += 1) jobs.push(job(3 + i, 'queued'));
    await store.transact((state: LedgerState) => ({
      state: { ...state, nextSeq: jobs.length + 1, jobs },
      result: undefined,
    }));
    const ms: number[] = [];
    for (let i = 0; i < ITERATIONS; i += 1) {
      const started = performance.now();
      await store.changeToken();
      const state = await store.read();
      const now = systemClock.now();
      if (schedule(state, policy, now).state !== state) throw new Error('something was granted');
      describeQueue(state, policy.capacity, policy.limits, now);
      ms.push(performance.now() - started);
    }
    return { queued, ms: ms.slice(10) };
  } finally {
    await rm(rpHome, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results = [];
  for (const queued of QUEUE_LENGTHS) {
    const { ms } = await costAt(queued);
    results.push({ queued, ...summarize(ms) });
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    'one wake-up of a waiting rp run (change token, read, schedule, describe)\n',
  );
  process.stdout.write(
    'queued  median ms  min ms  max ms  CPU ms per ledger change, all waiting\n',
  );
  for (const r of results) {
    process.stdout.write(
      `${String(r.queued).padStart(6)}  ${r.median.toFixed(2).padStart(9)}  ${r.min.toFixed(2).padStart(6)}  ` +
        `${r.max.toFixed(2).padStart(6)}  ${(r.median * r.queued).toFixed(0).padStart(8)}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
