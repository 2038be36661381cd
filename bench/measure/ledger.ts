/**
 * 5. Ledger throughput: transactions per second with 1, 8 and 64 concurrent processes, and the
 * median and 99th percentile of the wait for the lock, from bench/ledger-throughput.ts (run as it
 * is, with --json), repeated.
 */
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { mustRun } from '../lib/process.js';

const SECTION = '5. Ledger throughput';
const SCRIPT = fileURLToPath(new URL('../ledger-throughput.ts', import.meta.url));
const DEEP_SCRIPT = fileURLToPath(new URL('../deep-ledger.ts', import.meta.url));

interface LevelResult {
  processes: number;
  transactions: number;
  seconds: number;
  transactionsPerSecond: number;
  waitP50Ms: number;
  waitP99Ms: number;
  failed: number;
}

/** Per number of processes, one value per repeat. */
interface LevelSamples {
  transactionsPerSecond: number[];
  waitP50Ms: number[];
  waitP99Ms: number[];
  failed: number[];
}

export async function measureLedger(ctx: BenchContext): Promise<SectionResult> {
  const repeats = ctx.quick ? 2 : 3;
  // --quick: 20 transactions per process at every level instead of 600 / 100 / 20.
  const args = ctx.quick ? ['--per-process', '20'] : [];
  const levels = new Map<number, LevelSamples>();
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    const result = await mustRun(
      process.execPath,
      ['--import', 'tsx', SCRIPT, '--json', '--dir', ctx.sandbox.root, ...args],
      { cwd: ctx.repo, timeoutMs: 600_000 },
    );
    const parsed = JSON.parse(result.stdout) as { results: LevelResult[] };
    for (const level of parsed.results) {
      const samples = levels.get(level.processes) ?? {
        transactionsPerSecond: [],
        waitP50Ms: [],
        waitP99Ms: [],
        failed: [],
      };
      samples.transactionsPerSecond.push(level.transactionsPerSecond);
      samples.waitP50Ms.push(level.waitP50Ms);
      samples.waitP99Ms.push(level.waitP99Ms);
      samples.failed.push(level.failed);
      levels.set(level.processes, samples);
    }
    ctx.log(`ledger: repeat ${repeat + 1}/${repeats} done`);
  }
  const deep = { median: [] as number[], p99: [] as number[] };
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    const result = await mustRun(
      process.execPath,
      ['--import', 'tsx', DEEP_SCRIPT, '--json', '--dir', ctx.sandbox.root],
      { cwd: ctx.repo, timeoutMs: 600_000 },
    );
    const parsed = JSON.parse(result.stdout) as { medianMs: number; p99Ms: number };
    deep.median.push(parsed.medianMs);
    deep.p99.push(parsed.p99Ms);
  }
  const deepFigures = [
    figure(SECTION, 'one transaction, 1,000 queued entries: median', 'ms', deep.median),
    figure(SECTION, 'one transaction, 1,000 queued entries: 99th percentile', 'ms', deep.p99),
  ];
  return {
    figures: [
      ...deepFigures,
      ...[...levels.entries()].flatMap(([processes, samples]) => {
        const who = `${processes} process${processes === 1 ? '' : 'es'}`;
        // A failed transaction is a bug (a lock wait that timed out under load, say): say so.
        const note = `failed transactions per run: ${samples.failed.join(', ')}`;
        return [
          figure(SECTION, who, 'tx/s', samples.transactionsPerSecond, { note }),
          figure(SECTION, `${who}: lock wait, median`, 'ms', samples.waitP50Ms),
          figure(SECTION, `${who}: lock wait, 99th percentile`, 'ms', samples.waitP99Ms),
        ];
      }),
    ],
    skips: [],
    details: { repeats, args },
  };
}
