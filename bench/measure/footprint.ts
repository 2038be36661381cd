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
/** How long a waiting process sits in its wait loop before it is first measured. */
const SETTLE_MS = 1_500;
/**
 * When it is measured again, settled: V8 keeps the young generation it grew while loading modules
 * (16 MiB) until its memory reducer runs after some seconds of little allocation (8–10 s when
 * timed by hand), then shrinks it to 1 MiB. A job waits minutes to hours, so this is what waiting
 * costs. Each second's reading is kept in the details, to show when that happened.
 */
const SETTLED_MS = 30_000;

export async function measureFootprint(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  const rounds = ctx.quick ? 2 : 5;
  const key = `${ctx.runId}-footprint`;
  const holder = await submitDetached(sandbox, [`--script=hold.sh ${key}`, '--cpu', '2']);
  const foreground: number[] = [];
  const supervisor: number[] = [];
  const foregroundSettled: number[] = [];
  /** Every second's reading of each round, from 2.5 s on. */
  const series: Array<{ foreground: number[]; supervisor: number[] }> = [];
  const supervisorSettled: number[] = [];
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
        const fgSeries: number[] = [];
        const bgSeries: number[] = [];
        for (let at = SETTLE_MS; at < SETTLED_MS; at += 1_000) {
          await sleep(1_000);
          const fgNow = await residentMiB(jobs.fg.supervisor.pid);
          const bgNow = await residentMiB(jobs.host.pid);
          if (fgNow === undefined || bgNow === undefined)
            throw new Error('a waiting process is gone');
          fgSeries.push(Math.round(fgNow * 10) / 10);
          bgSeries.push(Math.round(bgNow * 10) / 10);
        }
        foregroundSettled.push(fgSeries.at(-1) as number);
        supervisorSettled.push(bgSeries.at(-1) as number);
        series.push({ foreground: fgSeries, supervisor: bgSeries });
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
    figure(SECTION, 'waiting foreground `rp run`, 1.5 s in', 'MiB', foreground),
    figure(SECTION, 'waiting foreground `rp run`, 30 s in (settled)', 'MiB', foregroundSettled),
    figure(SECTION, 'host supervisor, with a detached job queued, 1.5 s in', 'MiB', supervisor),
    figure(
      SECTION,
      'host supervisor, with a detached job queued, 30 s in (settled)',
      'MiB',
      supervisorSettled,
    ),
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
  return {
    figures,
    skips,
    details: { rounds, settleMs: SETTLE_MS, settledMs: SETTLED_MS, series },
  };
}
