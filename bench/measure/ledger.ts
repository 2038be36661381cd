/**
 * 5. Ledger throughput: transactions per second with 1, 8 and 64 concurrent processes, from
 * bench/ledger-throughput.ts (run as it is, with --json), repeated.
 */
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { mustRun } from '../lib/process.js';

const SECTION = '5. Ledger throughput';
const SCRIPT = fileURLToPath(new URL('../ledger-throughput.ts', import.meta.url));

interface LevelResult {
  processes: number;
  transactions: number;
  seconds: number;
  transactionsPerSecond: number;
}

export async function measureLedger(ctx: BenchContext): Promise<SectionResult> {
  const repeats = ctx.quick ? 2 : 3;
  // --quick: 20 transactions per process at every level instead of 600 / 100 / 20.
  const args = ctx.quick ? ['--per-process', '20'] : [];
  const levels = new Map<number, number[]>();
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    const result = await mustRun(
      process.execPath,
      ['--import', 'tsx', SCRIPT, '--json', '--dir', ctx.sandbox.root, ...args],
      { cwd: ctx.repo, timeoutMs: 600_000 },
    );
    const parsed = JSON.parse(result.stdout) as { results: LevelResult[] };
    for (const level of parsed.results) {
      const values = levels.get(level.processes) ?? [];
      values.push(level.transactionsPerSecond);
      levels.set(level.processes, values);
    }
    ctx.log(`ledger: repeat ${repeat + 1}/${repeats} done`);
  }
  return {
    figures: [...levels.entries()].map(([processes, values]) =>
      figure(SECTION, `${processes} process${processes === 1 ? '' : 'es'}`, 'tx/s', values),
    ),
    skips: [],
    details: { repeats, args },
  };
}
