/**
 * 1. CLI cold start: `rp --help` and `rp ps` against `node -e 0` (the runtime) and against a bare
 * @oclif/core CLI with one command (bench/floor-cli: the floor of rp's stack). The commands take
 * turns within each round, in an order rotated every round.
 */
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { runProcess } from '../lib/process.js';
import { rotation } from '../stats.js';

const SECTION = '1. CLI cold start';
const FLOOR_BIN = fileURLToPath(new URL('../floor-cli/bin/run.js', import.meta.url));

interface Command {
  key: 'node' | 'floor' | 'help' | 'ps';
  subject: string;
  args: string[];
}

export async function measureColdStart(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  const rounds = ctx.quick ? 8 : 30;
  const warmup = 2;
  const commands: Command[] = [
    { key: 'node', subject: '`node -e 0`', args: ['-e', '0'] },
    { key: 'floor', subject: 'bare oclif command (bench/floor-cli)', args: [FLOOR_BIN, 'hello'] },
    { key: 'help', subject: '`rp --help`', args: [sandbox.bin, '--help'] },
    { key: 'ps', subject: '`rp ps` (empty host)', args: [sandbox.bin, 'ps'] },
  ];
  const samples = new Map<Command['key'], number[]>(commands.map((c) => [c.key, []]));
  for (let round = 0; round < warmup + rounds; round += 1) {
    for (const command of rotation(commands, round)) {
      const result = await runProcess(process.execPath, command.args, {
        cwd: sandbox.project,
        env: { RP_HOME: sandbox.rpHome, NO_COLOR: '1' },
        timeoutMs: 60_000,
      });
      if (result.code !== 0) {
        throw new Error(`${command.subject} exited ${result.code}: ${result.stderr.slice(-500)}`);
      }
      if (round >= warmup) samples.get(command.key)?.push(result.ms);
    }
  }
  const of = (key: Command['key']): number[] => samples.get(key) ?? [];
  ctx.log(`cold start: ${rounds} rounds of ${commands.length} commands`);
  return {
    figures: [
      figure(SECTION, commands[0]?.subject ?? '', 'ms', of('node')),
      figure(SECTION, commands[1]?.subject ?? '', 'ms', of('floor'), {
        ratios: [{ against: '`node -e 0`', of: of('floor'), to: of('node') }],
      }),
      figure(SECTION, commands[2]?.subject ?? '', 'ms', of('help'), {
        ratios: [
          { against: 'oclif floor', of: of('help'), to: of('floor') },
          { against: '`node -e 0`', of: of('help'), to: of('node') },
        ],
      }),
      figure(SECTION, commands[3]?.subject ?? '', 'ms', of('ps'), {
        ratios: [
          { against: 'oclif floor', of: of('ps'), to: of('floor') },
          { against: '`node -e 0`', of: of('ps'), to: of('node') },
        ],
      }),
    ],
    skips: [],
    details: { rounds, warmup },
  };
}
