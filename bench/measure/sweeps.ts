/**
 * 7. Sweeps: N one-CPU `true` tasks as one array submission, queued behind a job that holds every
 * core, then drained; rp (`rp run --array 0-(N-1)`) and Slurm (`sbatch --array`). While the N
 * wait, what rp costs: the resident memory of every rp process of the sandbox together, the CPU
 * they use (a share of one core, over a window), and what a waiting foreground `rp run` takes.
 *
 *   submit:  the one submitting command, start to exit (rp: against one `rp --help`, the floor of
 *            any rp command), timed once the holder's script has begun and the cores are quiet
 *   drain:   the holder released → the last task's end (rp: its endedAt in the history; Slurm:
 *            when squeue, asked every 100 ms, lists none of them)
 */
import { readdir, readFile } from 'node:fs/promises';
import type { BenchContext } from '../context.js';
import { figure, type Figure, type SectionResult, type Skip } from '../figures.js';
import { residentMiB } from '../lib/memory.js';
import { mustRun, sleep, startProcess, stopProcess, until } from '../lib/process.js';
import { waitForQuietCpu, type Quiet } from '../lib/quiet.js';
import { historyRecords, holderUp, ledgerJobs, release, rp, submitDetached } from '../lib/rp.js';
import { activeJobs, cancelJobs, sbatch, slurmContainerLabels } from '../peers/slurm.js';

const SECTION = '7. Sweeps';

interface SweepRun {
  tasks: number;
  submitSeconds: number;
  drainSeconds: number;
  /** rp only: while the N wait. */
  residentMiB?: number;
  cpuPercentOfCore?: number;
  waitingForegroundMiB?: number;
  /** The share of every core busy just before the submission was timed. */
  cpuBusyBeforeSubmit: number;
}

/**
 * Before a submission is timed: the holder's script has begun in its container (a job marked
 * running may still be starting), and the cores have settled from that start.
 */
async function quietHolder(project: string, key: string): Promise<Quiet> {
  await holderUp(project, key);
  return waitForQuietCpu({ timeoutMs: 30_000 });
}

/** The pids of every process running this sandbox's CLI snapshot. */
async function rpProcesses(bin: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(bin)) pids.push(Number(name));
  }
  return pids;
}

/** utime + stime of a process in seconds (USER_HZ 100); 0 when it is gone. */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

async function sweepRp(ctx: BenchContext, repeat: number, tasks: number): Promise<SweepRun> {
  const { sandbox } = ctx;
  const key = `${ctx.runId}-sweep-${repeat}`;
  const historyStart = (await historyRecords(sandbox)).length;
  try {
    const holder = await submitDetached(sandbox, [`--script=hold.sh ${key}`, '--cpu', '2']);
    await until(
      'the holder to run',
      async () =>
        (await ledgerJobs(sandbox)).some((job) => job.id === holder.id && job.state === 'running')
          ? true
          : undefined,
      60_000,
      50,
    );
    const quietBefore = await quietHolder(sandbox.project, key);
    const submitted = await rp(sandbox, [
      'run',
      '--array',
      `0-${tasks - 1}`,
      '--script=true.sh',
      '--cpu',
      '1',
    ]);
    if (submitted.code !== 0) throw new Error(`rp run --array failed: ${submitted.stderr}`);
    const id = /^rp(\d{4}):/m.exec(submitted.stdout)?.[1] as string;

    // While they wait: every rp process of the sandbox (the supervisor, nothing else).
    await sleep(2_000);
    const pids = await rpProcesses(sandbox.bin);
    const memory = await Promise.all(pids.map(async (pid) => (await residentMiB(pid)) ?? 0));
    const windowMs = ctx.quick ? 5_000 : 20_000;
    const before = await Promise.all(pids.map(cpuSeconds));
    await sleep(windowMs);
    const after = await Promise.all(pids.map(cpuSeconds));
    const used = after.reduce((sum, value, i) => sum + value - (before[i] ?? 0), 0);

    // A foreground rp run waiting behind them.
    const foreground = startProcess(process.execPath, [sandbox.bin, 'run', '--script=true.sh'], {
      cwd: sandbox.project,
      env: { RP_HOME: sandbox.rpHome, NO_COLOR: '1' },
    });
    await until(
      'the foreground job to queue',
      async () => ((await ledgerJobs(sandbox)).length >= tasks + 2 ? true : undefined),
      60_000,
    );
    await sleep(1_000);
    const foregroundMiB = (await residentMiB(foreground.pid as number)) ?? 0;
    await stopProcess(foreground, 'SIGINT');

    const releasedAt = Date.now();
    await release(sandbox.project, key);
    const records = await until(
      `the ${tasks} tasks to end`,
      async () => {
        const mine = (await historyRecords(sandbox))
          .slice(historyStart)
          .filter((record) => record.id === id);
        return mine.length >= tasks ? mine : undefined;
      },
      Math.max(300_000, tasks * 6_000),
      100,
    );
    const failed = records.filter((record) => record.exitCode !== 0).length;
    if (failed > 0) ctx.log(`sweeps: ${failed} rp tasks failed`);
    const end = Math.max(...records.map((record) => Date.parse(record.endedAt)));
    return {
      tasks,
      submitSeconds: submitted.ms / 1000,
      drainSeconds: (end - releasedAt) / 1000,
      residentMiB: memory.reduce((sum, value) => sum + value, 0),
      cpuPercentOfCore: (used / (windowMs / 1000)) * 100,
      waitingForegroundMiB: foregroundMiB,
      cpuBusyBeforeSubmit: quietBefore.busy,
    };
  } finally {
    await release(sandbox.project, key);
  }
}

async function sweepSlurm(ctx: BenchContext, repeat: number, tasks: number): Promise<SweepRun> {
  const { sandbox } = ctx;
  const name = `rp-bench-${ctx.runId}-sweep-${repeat}`;
  const key = `${ctx.runId}-slurm-sweep-${repeat}`;
  const labels = slurmContainerLabels(ctx.runLabel).join(' ');
  try {
    await sbatch({
      name: `${name}-holder`,
      cpus: 2,
      wrap: `exec docker run --rm ${labels} -v ${sandbox.project}:/w -w /w ${sandbox.image} bash hold.sh ${key}`,
      chdir: sandbox.root,
    });
    await until(
      'the Slurm holder to run',
      async () =>
        [...(await activeJobs(`${name}-holder`)).values()].includes('RUNNING') ? true : undefined,
      60_000,
      100,
    );
    const quietBefore = await quietHolder(sandbox.project, key);
    const submitted = await sbatch({
      name,
      cpus: 1,
      array: `0-${tasks - 1}`,
      wrap: `exec docker run --rm ${labels} ${sandbox.image} true`,
      chdir: sandbox.root,
    });
    const releasedAt = Date.now();
    await release(sandbox.project, key);
    let end = 0;
    await until(
      `${tasks} Slurm array tasks to finish`,
      async () => {
        const active = await activeJobs(name);
        end = Date.now();
        return active.size === 0 ? true : undefined;
      },
      Math.max(300_000, tasks * 6_000),
      100,
    );
    return {
      tasks,
      submitSeconds: submitted.ms / 1000,
      drainSeconds: (end - releasedAt) / 1000,
      cpuBusyBeforeSubmit: quietBefore.busy,
    };
  } finally {
    await release(sandbox.project, key);
    await cancelJobs(name, ctx.runLabel);
    await cancelJobs(`${name}-holder`, ctx.runLabel);
  }
}

export async function measureSweeps(ctx: BenchContext): Promise<SectionResult> {
  const tasks = ctx.drainJobs ?? (ctx.quick ? 20 : 200);
  const repeats = ctx.quick ? 1 : 2;
  const help: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    help.push((await mustRun(process.execPath, [ctx.sandbox.bin, '--help'])).ms / 1000);
  }
  const rpRuns: SweepRun[] = [];
  const slurmRuns: SweepRun[] = [];
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    rpRuns.push(await sweepRp(ctx, repeat, tasks));
    ctx.log(`sweeps: rp ${JSON.stringify(rpRuns.at(-1))}`);
    if (ctx.slurm) {
      slurmRuns.push(await sweepSlurm(ctx, repeat, tasks));
      ctx.log(`sweeps: Slurm ${JSON.stringify(slurmRuns.at(-1))}`);
    }
  }
  const pick = (runs: SweepRun[], field: keyof SweepRun) =>
    runs.map((run) => Number(run[field] ?? Number.NaN));
  const vsSlurm = (field: keyof SweepRun) =>
    ctx.slurm ? [{ against: 'Slurm', of: pick(rpRuns, field), to: pick(slurmRuns, field) }] : [];
  const medianHelp = [...help].sort((a, b) => a - b)[Math.floor(help.length / 2)] as number;
  const figures: Figure[] = [
    figure(SECTION, '`rp --help`', 's', help),
    figure(SECTION, `rp: submitting a ${tasks}-task --array`, 's', pick(rpRuns, 'submitSeconds'), {
      ratios: [
        {
          against: '`rp --help` (median)',
          of: pick(rpRuns, 'submitSeconds'),
          to: rpRuns.map(() => medianHelp),
        },
        ...vsSlurm('submitSeconds'),
      ],
    }),
    figure(SECTION, `rp: draining ${tasks} array tasks`, 's', pick(rpRuns, 'drainSeconds'), {
      ratios: vsSlurm('drainSeconds'),
    }),
    figure(
      SECTION,
      `rp: memory of every rp process, ${tasks} tasks queued`,
      'MiB',
      pick(rpRuns, 'residentMiB'),
    ),
    figure(
      SECTION,
      `rp: CPU while ${tasks} tasks wait (% of one core)`,
      '% of a core',
      pick(rpRuns, 'cpuPercentOfCore'),
    ),
    figure(
      SECTION,
      'rp: a waiting foreground `rp run`, 1 s in',
      'MiB',
      pick(rpRuns, 'waitingForegroundMiB'),
    ),
  ];
  const skips: Skip[] = [];
  if (ctx.slurm) {
    figures.push(
      figure(SECTION, `Slurm: sbatch --array of ${tasks}`, 's', pick(slurmRuns, 'submitSeconds')),
      figure(SECTION, `Slurm: draining ${tasks} array tasks`, 's', pick(slurmRuns, 'drainSeconds')),
    );
  } else {
    skips.push({ section: SECTION, subject: 'Slurm', reason: ctx.slurmSkipped ?? '' });
  }
  return { figures, skips, details: { tasks, repeats, rp: rpRuns, slurm: slurmRuns } };
}
