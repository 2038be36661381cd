/** What every measurement gets: the rp sandbox, the mode, the peers and a log. */
import type { RpSandbox } from './lib/rp.js';
import type { Slurm } from './peers/slurm.js';

export interface BenchContext {
  repo: string;
  quick: boolean;
  /** --drain-jobs: the drain's N instead of 200 (20 with --quick). */
  drainJobs: number | undefined;
  sandbox: RpSandbox;
  /** Unique per benchmark run: labels, job names and keys include it. */
  runId: string;
  /** Label on every container this run starts by hand (key=value). */
  runLabel: string;
  slurm: Slurm | undefined;
  /** Why Slurm is not measured, when it is not. */
  slurmSkipped: string | undefined;
  log: (line: string) => void;
  /** Facts measured earlier that later sections use (a supervisor's memory for the drain). */
  facts: { supervisorMiB?: number };
}
