/**
 * Ledger throughput: transactions per second with 1, 8 and 64 concurrent processes sharing one
 * host directory through the real lock, and how long each transaction waited for the lock (from
 * starting to wait to holding it, as the lock reports it: p50 and p99 over all transactions of a
 * level). Not a test; run it by hand:
 *
 *   node --import tsx bench/ledger-throughput.ts [--json] [--per-process N] [--dir PATH]
 *
 * Each process opens the ledger, waits at a barrier (so process start-up is not timed), then runs
 * its transactions: alternately submitting a small job and removing it again with a history line,
 * i.e. the writes a real job causes. A transaction that fails (a lock timeout, say) is counted and
 * the process goes on. After each level the ledger is checked: every successful submission counted
 * exactly once, and every successful removal gone. `--dir` puts the temporary host directories under PATH (the
 * file system matters: fsync dominates).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { allocateJobId, removeJob, type JobEntry } from '../src/core/ledger-state.js';
import { systemClock } from '../src/host/clock.js';
import { systemRandomInt } from '../src/host/ids.js';
import { currentProcessRef } from '../src/host/process.js';
import { readHistory } from '../src/ledger/history.js';
import type { LockObserver } from '../src/ledger/lock.js';
import { openLedger } from '../src/ledger/store.js';
import { ledgerPaths } from '../src/ledger/paths.js';

const LEVELS: ReadonlyArray<{ processes: number; perProcess: number }> = [
  { processes: 1, perProcess: 600 },
  { processes: 8, perProcess: 100 },
  { processes: 64, perProcess: 20 },
];

interface LevelResult {
  processes: number;
  transactions: number;
  seconds: number;
  transactionsPerSecond: number;
  /** Waits for the lock, one per acquisition, in milliseconds. */
  waitP50Ms: number;
  waitP99Ms: number;
  waitMaxMs: number;
  /** Transactions that threw (the level's other figures count only the successful ones). */
  failed: number;
}

/** What each benchmark process reports on its last line of stdout. */
interface ChildReport {
  waitsMs: number[];
  submitted: number;
  removed: number;
  failed: number;
}

function openBenchLedger(rpHome: string, observe?: LockObserver) {
  return openLedger({ rpHome, clock: systemClock, recover: async () => [], lock: { observe } });
}

/** The nearest-rank percentile `p` (0–100) of `values`. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** One benchmark process: `--child <rpHome> <transactions>`. */
async function child(rpHome: string, transactions: number): Promise<void> {
  const report: ChildReport = { waitsMs: [], submitted: 0, removed: 0, failed: 0 };
  const store = await openBenchLedger(rpHome, {
    acquired: ({ waitedMs }) => report.waitsMs.push(waitedMs),
  });
  const supervisor = await currentProcessRef();
  await store.read();
  process.stdout.write('ready\n');
  await once(createInterface({ input: process.stdin }), 'line');
  report.waitsMs = [];

  let mine: string | undefined;
  for (let index = 0; index < transactions; index += 1) {
    try {
      mine = await step(mine);
    } catch (error) {
      report.failed += 1;
      process.stderr.write(`bench: transaction failed: ${(error as Error).message}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);

  /** Submits a job when this process has none, else removes it; returns the job it has after. */
  async function step(held: string | undefined): Promise<string | undefined> {
    const now = systemClock.now().toISOString();
    if (held === undefined) {
      const id = await store.transact((state) => {
        const id = allocateJobId(new Set(state.jobs.map((job) => job.id)), systemRandomInt);
        if (id === undefined) throw new Error('no free job id');
        const job: JobEntry = {
          id,
          seq: state.nextSeq,
          user: 'bench',
          uid: process.getuid?.() ?? 0,
          project: { path: '/bench', name: 'bench' },
          kind: 'run',
          command: 'bench',
          request: { gpus: 1, cpus: 1, memoryMb: 1024 },
          state: 'queued',
          submittedAt: now,
          supervisor,
        };
        return {
          state: { ...state, nextSeq: state.nextSeq + 1, jobs: [...state.jobs, job] },
          result: id,
        };
      });
      report.submitted += 1;
      return id;
    } else {
      const id = held;
      await store.transact((state) => {
        const key = state.jobs.find((job) => job.id === id) ?? { id, seq: 0 };
        const removed = removeJob(state, key, { ending: 'exited', endedAt: now, exitCode: 0 });
        return {
          state: removed.state,
          result: undefined,
          history: removed.record ? [removed.record] : [],
        };
      });
      report.removed += 1;
      return undefined;
    }
  }
}

async function runLevel(
  baseDir: string,
  processes: number,
  perProcess: number,
): Promise<LevelResult> {
  const rpHome = await mkdtemp(join(baseDir, 'rp-bench-'));
  try {
    await (await openBenchLedger(rpHome)).read();
    const script = fileURLToPath(import.meta.url);
    const children = Array.from({ length: processes }, () =>
      spawn(process.execPath, ['--import', 'tsx', script, '--child', rpHome, String(perProcess)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const outputs = children.map((proc) => {
      const reader = createInterface({ input: proc.stdout });
      const lines: string[] = [];
      reader.on('line', (line) => lines.push(line));
      return { lines, ready: once(reader, 'line'), closed: once(reader, 'close') };
    });
    await Promise.all(outputs.map((output) => output.ready));

    const started = performance.now();
    for (const proc of children) proc.stdin.end('go\n');
    const codes = await Promise.all(children.map((proc) => once(proc, 'exit')));
    const seconds = (performance.now() - started) / 1000;
    if (codes.some(([code]) => code !== 0)) throw new Error('a benchmark process failed');
    await Promise.all(outputs.map((output) => output.closed));
    const reports = outputs.map((output) => JSON.parse(output.lines.at(-1) ?? '{}') as ChildReport);

    const submitted = reports.reduce((sum, report) => sum + report.submitted, 0);
    const removed = reports.reduce((sum, report) => sum + report.removed, 0);
    const failed = reports.reduce((sum, report) => sum + report.failed, 0);
    const waits = reports.flatMap((report) => report.waitsMs);
    const final = await (await openBenchLedger(rpHome)).read();
    const history = await readHistory(ledgerPaths(rpHome).history);
    if (final.nextSeq !== submitted + 1 || final.jobs.length !== submitted - removed) {
      throw new Error(`inconsistent ledger after the run: ${JSON.stringify(final)}`);
    }
    if (history.records.length < removed) throw new Error('history lines are missing');
    const transactions = submitted + removed;
    return {
      processes,
      transactions,
      seconds,
      transactionsPerSecond: transactions / seconds,
      waitP50Ms: percentile(waits, 50),
      waitP99Ms: percentile(waits, 99),
      waitMaxMs: percentile(waits, 100),
      failed,
    };
  } finally {
    await rm(rpHome, { recursive: true, force: true });
  }
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1] ?? '', Number(args[2]));
    return;
  }
  const perProcess = option(args, '--per-process');
  const baseDir = option(args, '--dir') ?? tmpdir();
  const results: LevelResult[] = [];
  for (const level of LEVELS) {
    const n = perProcess === undefined ? level.perProcess : Number(perProcess);
    results.push(await runLevel(baseDir, level.processes, n));
  }
  if (args.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ node: process.version, baseDir, results }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(`ledger transactions per second (host directory under ${baseDir})\n`);
  process.stdout.write(
    'processes  transactions  seconds  tx/s  lock wait p50 ms  p99 ms  max ms  failed\n',
  );
  for (const result of results) {
    process.stdout.write(
      `${String(result.processes).padStart(9)}  ${String(result.transactions).padStart(12)}  ` +
        `${result.seconds.toFixed(2).padStart(7)}  ${result.transactionsPerSecond.toFixed(0).padStart(4)}  ` +
        `${result.waitP50Ms.toFixed(1).padStart(16)}  ${result.waitP99Ms.toFixed(1).padStart(6)}  ` +
        `${result.waitMaxMs.toFixed(0).padStart(6)}  ${String(result.failed).padStart(6)}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
