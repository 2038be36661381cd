/**
 * 6. Footprint: resident memory (VmRSS) of a waiting foreground `rp run` and of a detached
 * supervisor, both queued behind a job that holds every CPU. For Slurm a queued job is a line in
 * slurmctld's memory and no process at all; its daemons' memory is shown for scale.
 */
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { residentMiB } from '../lib/memory.js';
import { sleep, startProcess, stopProcess, until } from '../lib/process.js';
import { ledgerJobs, ledgerState, release, rp, submitDetached } from '../lib/rp.js';
import { daemonResidentMiB } from '../peers/slurm.js';

const SECTION = '6. Footprint';
/** How long a waiting process sits in its wait loop before it is measured. */
const SETTLE_MS = 1_500;

export async function measureFootprint(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  const rounds = ctx.quick ? 2 : 5;
  const key = `${ctx.runId}-footprint`;
  const holder = await submitDetached(sandbox, [`--script=hold.sh ${key}`, '--cpu', '2']);
  const foreground: number[] = [];
  const supervisor: number[] = [];
  try {
    await until(
      'the holding job to run',
      async () => {
        const job = (await ledgerJobs(sandbox)).find((entry) => entry.id === holder.id);
        return job?.state === 'running' ? true : undefined;
      },
      60_000,
    );
    for (let round = 0; round < rounds; round += 1) {
      const waiting = startProcess(process.execPath, [sandbox.bin, 'run', '--script=true.sh'], {
        cwd: sandbox.project,
        env: { RP_HOME: sandbox.rpHome, NO_COLOR: '1' },
      });
      try {
        const detached = await submitDetached(sandbox, ['--script=true.sh']);
        const jobs = await until(
          'the waiting rp run and the detached job to be queued, with a host supervisor',
          async () => {
            const ledger = await ledgerState(sandbox);
            const fg = ledger.jobs.find((job) => job.supervisor.pid === waiting.pid);
            const bg = ledger.jobs.find((job) => job.id === detached.id);
            const host = ledger.hostSupervisor;
            return fg && bg && host ? { fg, host } : undefined;
          },
          60_000,
        );
        await sleep(SETTLE_MS);
        const fgRss = await residentMiB(jobs.fg.supervisor.pid);
        const bgRss = await residentMiB(jobs.host.pid);
        if (fgRss === undefined || bgRss === undefined)
          throw new Error('a waiting process is gone');
        foreground.push(fgRss);
        supervisor.push(bgRss);
        const kill = await rp(sandbox, ['kill', detached.id], { timeoutMs: 30_000 });
        if (kill.code !== 0) throw new Error(`rp kill ${detached.id} failed: ${kill.stderr}`);
      } finally {
        await stopProcess(waiting, 'SIGTERM');
      }
    }
  } finally {
    await release(sandbox.project, key);
    await until(
      'the footprint jobs to leave the ledger',
      async () => ((await ledgerJobs(sandbox)).length === 0 ? true : undefined),
      60_000,
      100,
    );
  }
  ctx.facts.supervisorMiB = Math.max(...supervisor);
  ctx.log(`footprint: ${rounds} rounds`);

  const figures = [
    figure(SECTION, 'waiting foreground `rp run`', 'MiB', foreground),
    figure(SECTION, 'host supervisor, with a detached job queued', 'MiB', supervisor),
  ];
  const skips = [];
  if (ctx.slurm) {
    const daemons = await daemonResidentMiB();
    const total = Object.values(daemons).reduce((sum, value) => sum + value, 0);
    figures.push(
      figure(SECTION, 'Slurm: slurmctld + slurmd + munged, whole cluster', 'MiB', [total], {
        note: `a queued sbatch job has no process of its own; ${Object.entries(daemons)
          .map(([name, mib]) => `${name} ${mib.toFixed(1)}`)
          .join(', ')} MiB`,
      }),
    );
  } else {
    skips.push({ section: SECTION, subject: 'Slurm daemons', reason: ctx.slurmSkipped ?? '' });
  }
  return { figures, skips, details: { rounds, settleMs: SETTLE_MS } };
}
