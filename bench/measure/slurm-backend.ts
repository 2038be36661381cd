/**
 * 9. Slurm backend: `rp run --backend slurm --script=stamp.sh` (the project's image, archived on
 * the shared folder once, run inside the Slurm job by rp's batch script) against a bare
 * `sbatch --wait` whose job runs `docker run --rm` of the same image and the same command, on the
 * single-node cluster of scripts/slurm/start.sh. A and B alternate and the ratio is taken pair by
 * pair. Two figures each: submit-to-start (from spawning the command to the first line the
 * container prints, a wall-clock stamp: the node is this machine, so the clocks are the same) and
 * total (from spawn to exit).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { mustRun, runProcess } from '../lib/process.js';
import { rp } from '../lib/rp.js';
import { rotation } from '../stats.js';
import { BENCH_LABEL, removeContainers } from '../peers/docker.js';

const SECTION = '9. Slurm backend';
const STAMP = 'echo "rp-bench-start $(date +%s%3N)"\n';

export async function measureSlurmBackend(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  if (!ctx.slurm) {
    const reason = ctx.slurmSkipped ?? 'Slurm is not running';
    return {
      figures: [],
      skips: [{ section: SECTION, subject: '`rp run --backend slurm`', reason }],
    };
  }
  await writeFile(join(sandbox.project, 'stamp.sh'), `#!/bin/bash\n${STAMP}`, { mode: 0o755 });
  const configFile = join(sandbox.rpHome, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  const sharedDir = join(sandbox.root, 'slurm-shared');
  await writeFile(
    configFile,
    JSON.stringify({ ...config, backend: { type: 'slurm', sharedDir } }, null, 2),
  );
  const name = `rp-bench-${ctx.runId}-backend`;
  const startedAt = (output: string, spawnedAt: number): number => {
    const stamp = /rp-bench-start (\d+)/.exec(output)?.[1];
    if (stamp === undefined) throw new Error(`no start stamp in: ${output.slice(-300)}`);
    return Number(stamp) - spawnedAt;
  };
  const runs = {
    rp: async () => {
      const spawnedAt = Date.now();
      const result = await rp(sandbox, ['run', '--backend', 'slurm', '--script=stamp.sh'], {
        timeoutMs: 180_000,
      });
      if (result.code !== 0) throw new Error(`rp run exited ${result.code}: ${result.stderr}`);
      return { start: startedAt(result.stdout, spawnedAt), total: result.ms };
    },
    sbatch: async () => {
      const output = join(sharedDir, `bare-${Date.now()}.out`);
      const spawnedAt = Date.now();
      const labels = [BENCH_LABEL, ctx.runLabel, 'rp-bench.slurm-job=$SLURM_JOB_ID'];
      const wrap = [
        'docker run --rm --init',
        ...labels.map((label) => `--label ${label}`),
        sandbox.image,
        `bash -c '${STAMP.trim().replaceAll("'", "'\\''")}'`,
      ].join(' ');
      const result = await mustRun(
        'sbatch',
        [
          '--wait',
          '--parsable',
          `--job-name=${name}`,
          '--cpus-per-task=1',
          '--mem=512M',
          `--output=${output}`,
          '--wrap',
          wrap,
        ],
        { timeoutMs: 180_000 },
      );
      return { start: startedAt(await readFile(output, 'utf8'), spawnedAt), total: result.ms };
    },
  };
  const pairs = ctx.quick ? 3 : 10;
  const samples = {
    rp: { start: [] as number[], total: [] as number[] },
    sbatch: { start: [] as number[], total: [] as number[] },
  };
  try {
    // One warm-up of each, not counted: it saves the image archive and loads the node's caches.
    for (let pair = -1; pair < pairs; pair += 1) {
      for (const key of rotation(['rp', 'sbatch'] as const, Math.max(pair, 0))) {
        const measured = await runs[key]();
        if (pair >= 0) {
          samples[key].start.push(measured.start);
          samples[key].total.push(measured.total);
        }
      }
    }
  } finally {
    await runProcess('scancel', ['--name', name], { timeoutMs: 30_000 });
    await removeContainers(ctx.runLabel);
  }
  ctx.log(`slurm backend: ${pairs} rounds`);
  const ratio = (of: number[], to: number[]) => [{ against: 'bare `sbatch --wait`', of, to }];
  return {
    figures: [
      figure(SECTION, '`rp run --backend slurm`: submit to start', 'ms', samples.rp.start, {
        ratios: ratio(samples.rp.start, samples.sbatch.start),
      }),
      figure(
        SECTION,
        'bare `sbatch --wait` + `docker run`: submit to start',
        'ms',
        samples.sbatch.start,
      ),
      figure(SECTION, '`rp run --backend slurm`: total', 'ms', samples.rp.total, {
        ratios: ratio(samples.rp.total, samples.sbatch.total),
      }),
      figure(SECTION, 'bare `sbatch --wait` + `docker run`: total', 'ms', samples.sbatch.total),
    ],
    skips: [],
    details: { pairs, slurm: ctx.slurm.version },
  };
}
