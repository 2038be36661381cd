/**
 * `backend` in the host config ($RP_HOME/config.json): where this host's jobs run. Absent or
 * `{"type": "local"}`: on this machine, through the ledger and Docker. `{"type": "slurm", ...}`:
 * handed to a Slurm cluster with sbatch (locally or over ssh to a login node). Pure: the schema and
 * what `rp host show` says about it.
 */
import * as z from './zod.js';

export type BackendName = 'local' | 'slurm';
export const BACKEND_NAMES: readonly BackendName[] = ['local', 'slurm'];

const NAME = 'must be a non-empty string';
const text = () => z.string({ error: NAME }).min(1, { error: NAME });

export const slurmBackendSchema = z.strictObject(
  {
    type: z.literal('slurm'),
    /** `--partition`; absent: the cluster's default partition. */
    partition: text().optional(),
    /** `--account`; absent: the user's default account. */
    account: text().optional(),
    /** The login node to run sbatch/squeue/sacct/scancel on, as ssh names it; absent: here. */
    ssh: text().optional(),
    /**
     * A folder every node and this machine see at the same path: job scripts, logs, status files
     * and image archives live there.
     */
    sharedDir: z
      .string({ error: 'must be an absolute path such as "/shared/rp"' })
      .startsWith('/', { error: 'must be an absolute path such as "/shared/rp"' }),
    /** `gpus` (default): `--gpus=N`; `gres`: `--gres=gpu:N`, for clusters without cons_tres. */
    gpuOption: z.enum(['gpus', 'gres'], { error: 'must be "gpus" or "gres"' }).optional(),
    /**
     * A registry the nodes pull images from (`localhost:5000`); absent: an image archive on
     * sharedDir, keyed by the image's content hash and loaded once per node.
     */
    registry: text().optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')} (allowed: type, partition, account, ssh, sharedDir, gpuOption, registry)`
        : undefined,
  },
);

export type SlurmBackendConfig = z.infer<typeof slurmBackendSchema>;

export const backendConfigSchema = z.discriminatedUnion(
  'type',
  [z.strictObject({ type: z.literal('local') }), slurmBackendSchema],
  {
    error:
      'must be {"type": "local"} or {"type": "slurm", "partition": "gpu", "sharedDir": "/shared/rp"}',
  },
);

export type BackendConfig = z.infer<typeof backendConfigSchema>;

/** What `rp host show` prints about the backend: which one, and how it is reached. */
export function describeBackend(config: BackendConfig | undefined): string[] {
  if (config === undefined || config.type === 'local') {
    return ['backend: local (this machine: the host ledger and Docker)'];
  }
  const where =
    config.ssh === undefined ? 'the Slurm commands on this machine' : `ssh ${config.ssh}`;
  const lines = [`backend: slurm, through ${where}`];
  const details = [
    config.partition === undefined ? 'the default partition' : `partition ${config.partition}`,
    config.account === undefined ? undefined : `account ${config.account}`,
    `shared folder ${config.sharedDir}`,
    config.registry === undefined
      ? 'images as archives on the shared folder'
      : `images through ${config.registry}`,
  ].filter((part): part is string => part !== undefined);
  lines.push(`  ${details.join(', ')}`);
  return lines;
}
