/**
 * 4. Queue drain: N jobs of 1 CPU each running `true`, submitted at once (detached) on this
 * machine, until all have finished. rp and Slurm alternate, repeat by repeat.
 *
 * So that all N really are in the queue at once (and not run off one by one as fast as they are
 * submitted), a job holding every CPU runs first; it is released when the last submission has
 * returned. Three figures come out of one repeat:
 *   total:   first submission → end of the last job
 *   submit:  first submission → last submission returned (SUBMITTERS at a time, as a shell loop
 *            with `&` and a bound would; 200 Node processes started in the same instant on 2 cores
 *            would measure thrashing)
 *   drain:   the holder's container exits (Docker `die`) → end of the last job
 *
 *   rp:     `rp run --script=true.sh --cpu 1 --detach`; a job's end is its endedAt in
 *           history.jsonl (written as it leaves the ledger)
 *   Slurm:  `sbatch -c 1 --wrap "docker run --rm <image> true"`; the end is when squeue, asked
 *           every 100 ms, lists none of them any more
 *
 * Every queued rp job keeps a Node supervisor until it ends, so memory is watched: submissions
 * stop when MemAvailable falls below MEMORY_RESERVE_MIB, and that N (the largest feasible here) is
 * what every later repeat and Slurm use; the table says so.
 */
import type { BenchContext } from '../context.js';
import { figure, type Figure, type SectionResult, type Skip } from '../figures.js';
import { followContainerEvents, type EventStream } from '../lib/docker-events.js';
import { availableMiB, machineBusySeconds } from '../lib/memory.js';
import { pool, sleep, until } from '../lib/process.js';
import { historyRecords, ledgerJobs, release, submitDetached } from '../lib/rp.js';
import { BENCH_LABEL } from '../peers/docker.js';
import { activeJobs, cancelJobs, sbatch } from '../peers/slurm.js';

const SECTION = '4. Queue drain';
const SUBMITTERS = 8;
/** Submissions stop when less than this is available: the engine and the jobs need room. */
const MEMORY_RESERVE_MIB = 2_560;

interface DrainRun {
  jobs: number;
  totalSeconds: number;
  submitSeconds: number;
  drainSeconds: number;
  /** Busy CPU time of the whole machine while submitting / while draining. */
  submitCpuSeconds: number;
  drainCpuSeconds: number;
  /** MemAvailable when the run began, and its lowest value during the run (MiB). */
  availableBeforeMiB: number;
  lowestAvailableMiB: number;
  failed: number;
  /** Submissions were stopped early for lack of memory. */
  cappedByMemory: boolean;
}

/** The moments a drain run is cut at (ms since the epoch) and the machine's busy CPU seconds then. */
interface DrainMarks {
  start: number;
  submitted: number;
  released: number;
  end: number;
  cpu: [atStart: number, atSubmitted: number, atEnd: number];
}

/** A run's figures from its marks: both peers are measured over the same cuts. */
function drainFigures(marks: DrainMarks) {
  const [cpu0, cpu1, cpu2] = marks.cpu;
  return {
    totalSeconds: (marks.end - marks.start) / 1000,
    submitSeconds: (marks.submitted - marks.start) / 1000,
    drainSeconds: (marks.end - marks.released) / 1000,
    submitCpuSeconds: cpu1 - cpu0,
    drainCpuSeconds: cpu2 - cpu1,
  };
}

/** Watches MemAvailable while `work` runs. */
async function watchingMemory<T>(
  work: (memory: { lowest: number }) => Promise<T>,
): Promise<{ result: T; lowest: number; before: number }> {
  const before = await availableMiB();
  const memory = { lowest: before };
  let stop = false;
  const watcher = (async () => {
    while (!stop) {
      memory.lowest = Math.min(memory.lowest, await availableMiB());
      await sleep(100);
    }
  })();
  try {
    return { result: await work(memory), lowest: memory.lowest, before };
  } finally {
    stop = true;
    await watcher;
  }
}

async function dieTime(events: EventStream, containerId: string): Promise<number> {
  const event = await events.waitFor(
    `the holder's container ${containerId.slice(0, 12)} to exit`,
    (e) => e.action === 'die' && e.id === containerId,
    120_000,
  );
  return event.timeMs;
}

async function drainRp(ctx: BenchContext, repeat: number, wanted: number): Promise<DrainRun> {
  const { sandbox } = ctx;
  const key = `${ctx.runId}-drain-${repeat}`;
  // Job ids are unique among live jobs only and come back later: count history lines from here.
  const historyStart = (await historyRecords(sandbox)).length;
  const events = await followContainerEvents(sandbox.projectLabel);
  try {
    const submittedAt = Date.now();
    const holder = await submitDetached(sandbox, [`--script=hold.sh ${key}`, '--cpu', '2']);
    const holderStart = await events.waitFor(
      'the holder to start',
      (e) =>
        e.action === 'start' && e.attributes['rp.job'] === holder.id && e.timeMs >= submittedAt,
      60_000,
    );
    const { result, lowest, before } = await watchingMemory(async (memory) => {
      const t0 = Date.now();
      const cpu0 = await machineBusySeconds();
      let failed = 0;
      let capped = false;
      const ids = await pool(
        Array.from({ length: wanted }, (_, i) => i),
        SUBMITTERS,
        async () => {
          if (memory.lowest < MEMORY_RESERVE_MIB) capped = true;
          if (capped) return undefined;
          return submitDetached(sandbox, ['--script=true.sh', '--cpu', '1']).then(
            (job) => job.id,
            (error: unknown) => {
              failed += 1;
              ctx.log(`drain: a submission failed: ${(error as Error).message.slice(0, 300)}`);
              return undefined;
            },
          );
        },
      );
      const submitted = Date.now();
      const cpu1 = await machineBusySeconds();
      const jobs = new Set(ids.filter((id): id is string => id !== undefined));
      await release(sandbox.project, key);
      const released = await dieTime(events, holderStart.id);
      const records = await until(
        `${jobs.size} rp jobs to finish`,
        async () => {
          const mine = (await historyRecords(sandbox))
            .slice(historyStart)
            .filter((record) => jobs.has(record.id));
          return mine.length >= jobs.size ? mine : undefined;
        },
        Math.max(300_000, jobs.size * 6_000),
        100,
      );
      const cpu2 = await machineBusySeconds();
      failed += records.filter((record) => record.exitCode !== 0).length;
      const end = Math.max(...records.map((record) => Date.parse(record.endedAt)));
      return {
        jobs: jobs.size,
        ...drainFigures({ start: t0, submitted, released, end, cpu: [cpu0, cpu1, cpu2] }),
        failed,
        cappedByMemory: capped,
      };
    });
    return { ...result, availableBeforeMiB: before, lowestAvailableMiB: lowest };
  } finally {
    await release(sandbox.project, key);
    await until(
      'the drain jobs to leave the ledger',
      async () => ((await ledgerJobs(sandbox)).length === 0 ? true : undefined),
      120_000,
      200,
    ).catch(() => ctx.log('drain: jobs are left in the ledger; they are ended at cleanup'));
    await events.stop();
  }
}

async function drainSlurm(ctx: BenchContext, repeat: number, jobs: number): Promise<DrainRun> {
  const { sandbox } = ctx;
  const name = `rp-bench-${ctx.runId}-drain-${repeat}`;
  const label = `rp-bench.drain=${ctx.runId}-${repeat}`;
  const key = `${ctx.runId}-slurm-drain-${repeat}`;
  const labels = `--label ${BENCH_LABEL} --label ${ctx.runLabel} --label ${label} --label "rp-bench.slurm-job=$SLURM_JOB_ID"`;
  const events = await followContainerEvents(label);
  try {
    await sbatch({
      name: `${name}-holder`,
      cpus: 2,
      wrap: `exec docker run --rm ${labels} --label rp-bench.holder=${key} -v ${sandbox.project}:/w -w /w ${sandbox.image} bash hold.sh ${key}`,
      chdir: sandbox.root,
    });
    const holderStart = await events.waitFor(
      'the Slurm holder to start',
      (e) => e.action === 'start' && e.attributes['rp-bench.holder'] === key,
      60_000,
    );
    const { result, lowest, before } = await watchingMemory(async () => {
      const t0 = Date.now();
      const cpu0 = await machineBusySeconds();
      let failed = 0;
      await pool(
        Array.from({ length: jobs }, (_, i) => i),
        SUBMITTERS,
        async () =>
          sbatch({
            name,
            cpus: 1,
            wrap: `exec docker run --rm ${labels} ${sandbox.image} true`,
            chdir: sandbox.root,
          }).catch((error: unknown) => {
            failed += 1;
            ctx.log(`drain: an sbatch failed: ${(error as Error).message.slice(0, 300)}`);
          }),
      );
      const submitted = Date.now();
      const cpu1 = await machineBusySeconds();
      await release(sandbox.project, key);
      const released = await dieTime(events, holderStart.id);
      let end = 0;
      await until(
        `${jobs} Slurm jobs to finish`,
        async () => {
          const active = await activeJobs(name);
          end = Date.now();
          return active.size === 0 ? true : undefined;
        },
        Math.max(300_000, jobs * 6_000),
        100,
      );
      const cpu2 = await machineBusySeconds();
      // Every container must have run and exited 0 (without accounting Slurm keeps no exit codes).
      const isJob = (e: { action: string; attributes: Record<string, string> }) =>
        e.action === 'die' && e.attributes['rp-bench.holder'] === undefined;
      const dies = await until(
        'the die events of every Slurm drain container',
        () => {
          const found = events.events.filter(isJob);
          return found.length >= jobs - failed ? found : undefined;
        },
        10_000,
      ).catch(() => events.events.filter(isJob));
      failed = jobs - dies.filter((event) => event.attributes.exitCode === '0').length;
      return {
        jobs,
        ...drainFigures({ start: t0, submitted, released, end, cpu: [cpu0, cpu1, cpu2] }),
        failed,
        cappedByMemory: false,
      };
    });
    return { ...result, availableBeforeMiB: before, lowestAvailableMiB: lowest };
  } finally {
    await release(sandbox.project, key);
    await cancelJobs(name, label);
    await cancelJobs(`${name}-holder`, label);
    await events.stop();
  }
}

export async function measureDrain(ctx: BenchContext): Promise<SectionResult> {
  const target = ctx.drainJobs ?? (ctx.quick ? 20 : 200);
  // A full repeat of 200 rp jobs takes about 10 minutes of a fully loaded machine: two of them
  // (rp, Slurm, Slurm, rp) give min and max; the cheap quick drain has three.
  const repeats = ctx.quick ? 3 : 2;
  let jobs = target;
  const rpRuns: DrainRun[] = [];
  const slurmRuns: DrainRun[] = [];
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    // rp first in even repeats: the first rp repeat finds how many jobs fit in memory.
    const order = repeat % 2 === 0 ? (['rp', 'slurm'] as const) : (['slurm', 'rp'] as const);
    for (const peer of order) {
      if (peer === 'slurm' && !ctx.slurm) continue;
      const run =
        peer === 'rp' ? await drainRp(ctx, repeat, jobs) : await drainSlurm(ctx, repeat, jobs);
      if (peer === 'rp' && run.cappedByMemory) {
        // Fewer fit: go on (and start again) with what did.
        ctx.log(
          `drain: only ${run.jobs} of ${jobs} rp jobs fit in memory; going on with ${run.jobs}`,
        );
        jobs = run.jobs;
        rpRuns.length = 0;
        slurmRuns.length = 0;
        repeat = -1;
        break;
      }
      (peer === 'rp' ? rpRuns : slurmRuns).push(run);
      ctx.log(
        `drain: ${peer} ${run.jobs} jobs: ${run.totalSeconds.toFixed(1)} s in all, submitted in ${run.submitSeconds.toFixed(1)} s, drained in ${run.drainSeconds.toFixed(1)} s; ${run.failed} failed`,
      );
    }
  }

  const pick = (runs: DrainRun[], field: keyof DrainRun) => runs.map((run) => Number(run[field]));
  const vsSlurm = (field: keyof DrainRun) =>
    ctx.slurm ? [{ against: 'Slurm', of: pick(rpRuns, field), to: pick(slurmRuns, field) }] : [];
  const capped = jobs < target;
  const sizeNote = capped
    ? `${target} jobs did not fit in memory (submissions stop below ${MEMORY_RESERVE_MIB} MiB available): ${jobs} is the largest N that did`
    : undefined;
  const describe = (runs: DrainRun[]) => {
    const cpu = (field: 'submitCpuSeconds' | 'drainCpuSeconds') =>
      runs.map((run) => (run[field] / run.jobs).toFixed(2)).join(', ');
    const memory = runs.map((run) => (run.availableBeforeMiB - run.lowestAvailableMiB).toFixed(0));
    return (
      `machine CPU per job: ${cpu('submitCpuSeconds')} s submitting, ${cpu('drainCpuSeconds')} s draining; ` +
      `MemAvailable fell by ${memory.join(', ')} MiB; ${runs.reduce((sum, run) => sum + run.failed, 0)} failed`
    );
  };
  const n = `${jobs}${capped ? ` (of ${target})` : ''}`;
  const figures: Figure[] = [
    figure(
      SECTION,
      `rp: ${n} jobs, first submission → last end`,
      's',
      pick(rpRuns, 'totalSeconds'),
      {
        ratios: vsSlurm('totalSeconds'),
        note: [sizeNote, describe(rpRuns)].filter(Boolean).join('; '),
      },
    ),
    figure(
      SECTION,
      `rp: submitting ${n} jobs (${SUBMITTERS} at a time)`,
      's',
      pick(rpRuns, 'submitSeconds'),
      {
        ratios: vsSlurm('submitSeconds'),
      },
    ),
    figure(
      SECTION,
      `rp: draining ${n} queued jobs (holder exits → last end)`,
      's',
      pick(rpRuns, 'drainSeconds'),
      {
        ratios: vsSlurm('drainSeconds'),
      },
    ),
  ];
  const skips: Skip[] = [];
  if (ctx.slurm) {
    figures.push(
      figure(
        SECTION,
        `Slurm: ${n} jobs, first submission → last end`,
        's',
        pick(slurmRuns, 'totalSeconds'),
        {
          note: describe(slurmRuns),
        },
      ),
      figure(
        SECTION,
        `Slurm: submitting ${n} jobs (${SUBMITTERS} at a time)`,
        's',
        pick(slurmRuns, 'submitSeconds'),
      ),
      figure(SECTION, `Slurm: draining ${n} queued jobs`, 's', pick(slurmRuns, 'drainSeconds')),
    );
  } else {
    skips.push({ section: SECTION, subject: 'Slurm', reason: ctx.slurmSkipped ?? '' });
  }
  return {
    figures,
    skips,
    details: { jobs, target, repeats, submitters: SUBMITTERS, rp: rpRuns, slurm: slurmRuns },
  };
}
