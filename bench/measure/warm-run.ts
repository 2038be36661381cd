/**
 * 2. Warm run overhead: `rp run --script=true.sh` on a project whose image is built, with the host
 * free, against `docker run --rm <the same image> true`. A and B alternate (A/B, B/A, ...) and the
 * ratio is taken pair by pair.
 */
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { rp } from '../lib/rp.js';
import { dockerRun } from '../peers/docker.js';
import { rotation } from '../stats.js';

const SECTION = '2. Warm run overhead';

export async function measureWarmRun(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  const pairs = ctx.quick ? 5 : 20;
  const runs = {
    rp: async () => rp(sandbox, ['run', '--script=true.sh'], { timeoutMs: 60_000 }),
    docker: async () => dockerRun(sandbox.image, ['true'], ['--label', ctx.runLabel]),
  };
  const samples: Record<keyof typeof runs, number[]> = { rp: [], docker: [] };
  // One warm-up of each (page cache, the engine's image lookup), not counted.
  for (let pair = -1; pair < pairs; pair += 1) {
    for (const key of rotation(['rp', 'docker'] as const, Math.max(pair, 0))) {
      const result = await runs[key]();
      if (result.code !== 0) {
        throw new Error(`${key} run exited ${result.code}: ${result.stderr.slice(-500)}`);
      }
      if (pair >= 0) samples[key].push(result.ms);
    }
  }
  ctx.log(`warm run: ${pairs} A/B pairs`);
  return {
    figures: [
      figure(SECTION, '`rp run --script=true.sh`', 'ms', samples.rp, {
        ratios: [{ against: '`docker run --rm`', of: samples.rp, to: samples.docker }],
      }),
      figure(SECTION, '`docker run --rm <image> true`', 'ms', samples.docker),
    ],
    skips: [],
    details: { pairs, image: sandbox.image },
  };
}
