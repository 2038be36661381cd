import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { dockerAvailable } from './docker.js';
import { runningAsRoot } from './unix-user.js';

const START = fileURLToPath(new URL('../../scripts/slurm/start.sh', import.meta.url));

/**
 * The Slurm tests need root (packages, daemons), Docker and a machine where start.sh can bring up
 * its single-node cluster. Outside CI they are skipped without root or Docker; under CI they run
 * and fail when the cluster cannot start, as the Docker tests do.
 */
export const skipWithoutSlurm = !process.env.CI && (!runningAsRoot || !dockerAvailable);

/** Runs scripts/slurm/start.sh (idempotent: quick when the cluster is up). */
export async function startSlurm(): Promise<void> {
  const result = await execa('bash', [START], { reject: false, timeout: 600_000 });
  if (result.exitCode !== 0) {
    throw new Error(
      `scripts/slurm/start.sh failed (${result.exitCode}), so the Slurm tests cannot run: ${result.stderr}`,
    );
  }
}

/** `scontrol show job ID` as KEY=VALUE pairs (its one-line form). */
export async function scontrolJob(slurmJobId: string): Promise<Record<string, string>> {
  const result = await execa('scontrol', ['--oneliner', 'show', 'job', slurmJobId], {
    reject: false,
  });
  if (result.exitCode !== 0) throw new Error(`scontrol show job ${slurmJobId}: ${result.stderr}`);
  const fields: Record<string, string> = {};
  for (const pair of result.stdout.trim().split(/\s+/)) {
    const equals = pair.indexOf('=');
    if (equals > 0) fields[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return fields;
}

/** The Slurm job ids squeue still lists (any state), of the ids given. */
export async function inSqueue(slurmJobIds: readonly string[]): Promise<string[]> {
  if (slurmJobIds.length === 0) return [];
  const result = await execa('squeue', ['--noheader', '--states=all', '--format=%A|%T'], {
    reject: false,
  });
  return result.stdout
    .split('\n')
    .map((line) => line.split('|'))
    .filter(
      ([id, state]) =>
        id &&
        slurmJobIds.includes(id) &&
        state !== 'CANCELLED' &&
        state !== 'COMPLETED' &&
        state !== 'FAILED' &&
        state !== 'TIMEOUT',
    )
    .map(([id]) => id as string);
}

export async function scancel(slurmJobIds: readonly string[]): Promise<void> {
  if (slurmJobIds.length > 0) await execa('scancel', [...slurmJobIds], { reject: false });
}
