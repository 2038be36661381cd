/**
 * Ledger throughput: transactions per second with 1, 8 and 64 concurrent processes sharing one
 * host directory through the real lock. Not a test; run it by hand:
 *
 *   node --import tsx bench/ledger-throughput.ts [--json] [--per-process N] [--dir PATH]
 *
 * Each process opens the ledger, waits at a barrier (so process start-up is not timed), then runs
 * its transactions: alternately submitting a small job and removing it again with a history line,
 * i.e. the writes a real job causes. After each level the ledger is checked: empty, and every
 * submission counted exactly once. `--dir` puts the temporary host directories under PATH (the
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
import { ledgerPaths } from '../src/ledger/paths.js';
import { openLedger } from '../src/ledger/store.js';

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
}

function openBenchLedger(rpHome: string) {
  return openLedger({ rpHome, clock: systemClock, recover: async () => [] });
}

/** One benchmark process: `--child <rpHome> <transactions>`. */
async function child(rpHome: string, transactions: number): Promise<void> {
  const store = await openBenchLedger(rpHome);
  const supervisor = await currentProcessRef();
  await store.read();
  process.stdout.write('ready\n');
  await once(createInterface({ input: process.stdin }), 'line');

  let mine: string | undefined;
  for (let index = 0; index < transactions; index += 1) {
    const now = systemClock.now().toISOString();
    if (mine === undefined) {
      mine = await store.transact((state) => {
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
    } else {
      const id = mine;
      await store.transact((state) => {
        const key = state.jobs.find((job) => job.id === id) ?? { id, seq: 0 };
        const removed = removeJob(state, key, { ending: 'exited', endedAt: now, exitCode: 0 });
        return {
          state: removed.state,
          result: undefined,
          history: removed.record ? [removed.record] : [],
        };
      });
      mine = undefined;
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
    await Promise.all(
      children.map((proc) => once(createInterface({ input: proc.stdout }), 'line')),
    );

    const started = performance.now();
    for (const proc of children) proc.stdin.end('go\n');
    const codes = await Promise.all(children.map((proc) => once(proc, 'exit')));
    const seconds = (performance.now() - started) / 1000;
    if (codes.some(([code]) => code !== 0)) throw new Error('a benchmark process failed');

    const transactions = processes * perProcess;
    const final = await (await openBenchLedger(rpHome)).read();
    const submitted = processes * Math.ceil(perProcess / 2);
    const removed = processes * Math.floor(perProcess / 2);
    const history = await readHistory(ledgerPaths(rpHome).history);
    if (final.nextSeq !== submitted + 1 || final.jobs.length !== submitted - removed) {
      throw new Error(`inconsistent ledger after the run: ${JSON.stringify(final)}`);
    }
    if (history.records.length < removed) throw new Error('history lines are missing');
    return { processes, transactions, seconds, transactionsPerSecond: transactions / seconds };
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
  process.stdout.write('processes  transactions  seconds  tx/s\n');
  for (const result of results) {
    process.stdout.write(
      `${String(result.processes).padStart(9)}  ${String(result.transactions).padStart(12)}  ` +
        `${result.seconds.toFixed(2).padStart(7)}  ${result.transactionsPerSecond.toFixed(0).padStart(5)}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
