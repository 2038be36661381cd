/**
 * The peer users would pick instead: a real single-node Slurm cluster from Debian's packages,
 * brought up by scripts/slurm/start.sh. Its jobs run the same `docker run --rm <image> ...` as the
 * Docker floor, one sbatch per job, so the difference is the scheduler around it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cleanup } from '../lib/cleanup.js';
import { residentMiB } from '../lib/memory.js';
import { mustRun, runProcess } from '../lib/process.js';
import { BENCH_LABEL, removeContainers } from './docker.js';

export interface Slurm {
  version: string;
  /** Whether this run started the daemons (and so stops them at the end). */
  startedHere: boolean;
}

export type SlurmStart = { ok: true; slurm: Slurm } | { ok: false; reason: string };

async function answers(): Promise<boolean> {
  const ping = await runProcess('scontrol', ['ping'], { timeoutMs: 10_000 }).catch(() => undefined);
  return ping?.code === 0 && /UP/.test(ping.stdout);
}

/** Starts Slurm with the committed script (installing it when missing), or says why not. */
export async function startSlurm(
  repo: string,
  cleanup: Cleanup,
  log: (line: string) => void,
): Promise<SlurmStart> {
  const wasUp = await answers();
  log(wasUp ? 'Slurm answers already' : 'starting Slurm: scripts/slurm/start.sh');
  const start = await runProcess('bash', [join(repo, 'scripts/slurm/start.sh')], {
    timeoutMs: 600_000,
  }).catch((error: unknown) => ({ code: 1, stderr: String(error), timedOut: false }));
  if (!wasUp) {
    cleanup.add('stop Slurm (scripts/slurm/stop.sh)', async () => {
      await runProcess('bash', [join(repo, 'scripts/slurm/stop.sh')], { timeoutMs: 60_000 });
    });
  }
  if (start.code !== 0) {
    const why = start.timedOut ? 'timed out' : `exited ${start.code}`;
    const tail = start.stderr.trim().split('\n').slice(-3).join(' / ');
    return { ok: false, reason: `scripts/slurm/start.sh ${why}: ${tail}` };
  }
  const version = await runProcess('sinfo', ['--version'], { timeoutMs: 10_000 });
  return {
    ok: true,
    slurm: { version: version.stdout.trim().replace(/^slurm(-wlm)?\s+/, ''), startedHere: !wasUp },
  };
}

/** The labels of a benchmark container run by Slurm job $SLURM_JOB_ID. */
export function slurmContainerLabels(runLabel: string, extra: Record<string, string> = {}) {
  const labels = [BENCH_LABEL, runLabel, 'rp-bench.slurm-job=$SLURM_JOB_ID'];
  for (const [key, value] of Object.entries(extra)) labels.push(`${key}=${value}`);
  return labels.flatMap((label) => ['--label', label]);
}

export interface SbatchOptions {
  name: string;
  cpus: number;
  /** The job's shell command line (run by sbatch --wrap). */
  wrap: string;
  chdir?: string;
  /** `--array`: Slurm's array spec, e.g. 0-199. */
  array?: string;
}

/** Submits one batch job and returns its id and how long sbatch took. */
export async function sbatch(options: SbatchOptions): Promise<{ id: string; ms: number }> {
  const result = await mustRun(
    'sbatch',
    [
      '--parsable',
      '--job-name',
      options.name,
      '--cpus-per-task',
      String(options.cpus),
      '--output',
      '/dev/null',
      ...(options.chdir ? ['--chdir', options.chdir] : []),
      ...(options.array ? ['--array', options.array] : []),
      '--wrap',
      options.wrap,
    ],
    { timeoutMs: 60_000 },
  );
  return { id: result.stdout.trim().split(';')[0] ?? '', ms: result.ms };
}

/** The states of the named jobs that are not over yet (PENDING, RUNNING, COMPLETING, ...). */
export async function activeJobs(name: string): Promise<Map<string, string>> {
  const result = await mustRun(
    'squeue',
    ['-h', '--name', name, '--states', 'PENDING,RUNNING,COMPLETING,CONFIGURING', '-o', '%i %T'],
    { timeoutMs: 30_000 },
  );
  const states = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [id, state] = line.trim().split(/\s+/);
    if (id && state) states.set(id, state);
  }
  return states;
}

/** Cancels every job of this name and removes what their containers left. */
export async function cancelJobs(name: string, runLabel: string): Promise<void> {
  await runProcess('scancel', ['--name', name], { timeoutMs: 30_000 });
  await removeContainers(runLabel);
}

/** Resident memory of Slurm's daemons (munged, slurmctld, slurmd), in MiB, by their pid files. */
export async function daemonResidentMiB(): Promise<Record<string, number>> {
  const daemons: Record<string, string> = {
    slurmctld: '/run/slurm/slurmctld.pid',
    slurmd: '/run/slurm/slurmd.pid',
    munged: '/run/munge/munged.pid',
  };
  const out: Record<string, number> = {};
  for (const [name, pidFile] of Object.entries(daemons)) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    const rss = pid > 0 ? await residentMiB(pid) : undefined;
    if (rss !== undefined) out[name] = rss;
  }
  return out;
}
