/**
 * One line of `rp ps` and `rp queue` (and of their `--json` under `backendJobs`) for a job, or an
 * array task, that a backend other than this machine holds (Slurm). The listing service builds it
 * (src/services/backend-jobs.ts) and the table prints it (src/ui/backend-jobs.ts): one type for
 * both, here in core where each may import it.
 */
import type { BackendName } from './backend-config.js';
import type { SlurmJobPhase } from './slurm-states.js';

export interface BackendJobRow {
  id: string;
  task?: number;
  name: string;
  backend: BackendName;
  /** The backend's own id of the job (Slurm's job id, `1234_7` for a task). */
  backendJobId: string;
  user: string;
  project: string;
  command: string;
  gpus: number;
  cpus: number;
  memoryMb: number;
  phase: SlurmJobPhase;
  reason?: string;
  exitCode?: number;
  /** The state in words, as the table shows it. */
  state: string;
  submittedAt: string;
}

/** A backend's jobs as `rp ps` and `rp queue` list them, with how the backend is reached. */
export interface BackendJobListing {
  backend: BackendName;
  /** In words: "the Slurm commands on this machine", "ssh login1". */
  reachedVia: string;
  rows: BackendJobRow[];
}
