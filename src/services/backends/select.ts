/**
 * Which backend a command talks to: the host config's `backend` (absent: this machine), or
 * `rp run --backend` for one job. A local job goes through the existing services unchanged; this
 * module opens the other backend where the config describes one.
 */
import type { BackendName } from '../../core/backend-config.js';
import { ConfigError } from '../../core/errors.js';
import { slurmStopGraceSeconds } from '../../core/slurm-job-script.js';
import type { Backend } from '../backend.js';
import { loadHostConfig } from '../host-setup.js';

export interface BackendChoice {
  /** Absent: the local backend (the ledger and Docker on this machine). */
  backend?: Backend;
  /** What the config makes the default. */
  configured: BackendName;
}

const NO_IDS = async (): Promise<ReadonlySet<string>> => new Set();

/** The backend the host config describes other than this machine, if any. */
export async function configuredBackend(
  rpHome: string,
  takenIds: () => Promise<ReadonlySet<string>> = NO_IDS,
): Promise<BackendChoice> {
  const loaded = await loadHostConfig(rpHome);
  const config = loaded.config.backend;
  if (config === undefined || config.type === 'local') return { configured: 'local' };
  // The container's stop grace on scancel and at the time limit: the host's kill wait.
  const stopGraceSeconds = slurmStopGraceSeconds(loaded.limits.killWaitSeconds);
  // Loaded only where a cluster is configured: it brings the image export and its dependencies.
  const { openSlurmBackend } = await import('./slurm.js');
  return {
    backend: openSlurmBackend({ rpHome, config, takenIds, stopGraceSeconds }),
    configured: 'slurm',
  };
}

/**
 * The backend of one `rp run`: `--backend`, else the config's. `--backend slurm` on a host whose
 * config describes no cluster is an error that says what to add.
 */
export async function backendForRun(
  rpHome: string,
  flag: BackendName | undefined,
  takenIds: () => Promise<ReadonlySet<string>>,
): Promise<Backend | undefined> {
  const choice = await configuredBackend(rpHome, takenIds);
  const wanted = flag ?? choice.configured;
  if (wanted === 'local') return undefined;
  if (choice.backend === undefined) {
    throw new ConfigError(
      `--backend slurm: the host config in ${rpHome} describes no Slurm cluster`,
      {
        hint: `add "backend": {"type": "slurm", "partition": "gpu", "sharedDir": "/shared/rp"} to ${rpHome}/config.json (README: "When you outgrow one server"), or leave out --backend`,
      },
    );
  }
  return choice.backend;
}
