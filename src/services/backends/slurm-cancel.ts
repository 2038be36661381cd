/**
 * Cancelling a Slurm job: `scancel`, whose SIGTERM reaches the job script's trap, which stops the
 * container with the job's own grace (written into its script at submit) or, for `rp kill
 * --grace`, with the one written first into the job's folder on sharedDir (slurmGraceFile). A
 * grace longer than the cluster's KillWait is cut to it, and the outcome says so.
 */
import { rm, writeFile } from 'node:fs/promises';
import { ConfigError } from '../../core/errors.js';
import { jobName } from '../../core/naming.js';
import { slurmGraceFile } from '../../core/slurm-job-script.js';
import type { SlurmJobStore } from '../../ledger/slurm-jobs.js';
import type { BackendJob, CancelOutcome } from '../backend.js';
import type { SlurmCli } from './slurm-cli.js';

export async function cancelSlurmJob(
  {
    cli,
    store,
  }: { cli: Pick<SlurmCli, 'scancel' | 'killWaitSeconds'>; store: Pick<SlurmJobStore, 'get'> },
  job: BackendJob,
  { task, graceSeconds }: { task?: number; graceSeconds?: number },
): Promise<CancelOutcome> {
  const record = graceSeconds === undefined ? undefined : await store.get(job.id);
  const graceFile = record && slurmGraceFile(record.dir, task);
  // Cancelled in any case: a grace that cannot be given is said after the scancel.
  const unwritten =
    graceFile === undefined
      ? undefined
      : await writeFile(graceFile, `${graceSeconds}\n`, { mode: 0o644 }).then(
          () => undefined,
          (error: NodeJS.ErrnoException) => error,
        );
  try {
    await cli.scancel([task === undefined ? job.backendJobId : `${job.backendJobId}_${task}`]);
  } catch (error) {
    // Not cancelled: the grace must not linger until the job's time limit.
    if (graceFile !== undefined && unwritten === undefined) await rm(graceFile, { force: true });
    throw error;
  }
  if (graceFile !== undefined && unwritten !== undefined) {
    throw new ConfigError(
      `${jobName(job.id)} was cancelled, but with its own stop grace: cannot write ${graceFile} (${unwritten.code ?? unwritten.message})`,
      {
        hint: "rp kill --grace writes into the job's folder on sharedDir: whoever runs it must be able to write there (root cannot on an NFS share with root_squash)",
      },
    );
  }
  if (graceSeconds === undefined) return {};
  // Slurm SIGKILLs the job script KillWait seconds after its SIGTERM, and the Epilog removes
  // whatever container outlives it: a longer grace cannot be given.
  const killWait = await cli.killWaitSeconds();
  return killWait !== undefined && graceSeconds > killWait ? { graceCutToSeconds: killWait } : {};
}
