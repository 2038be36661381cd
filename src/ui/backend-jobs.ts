/**
 * The jobs of a backend other than this machine (Slurm) in `rp ps` and `rp queue`: one line per
 * job (or array task), saying which backend holds it, its id there, and its state with Slurm's
 * reason for a waiting job. Pure: rows in, lines out.
 */
import { plural } from '../core/units.js';
import { formatRequest, renderTable } from './tables.js';

/** What a line shows; BackendJobRow of src/services/backend-jobs.ts fits. */
export interface BackendJobLine {
  name: string;
  backend: string;
  backendJobId: string;
  user: string;
  project: string;
  command: string;
  gpus: number;
  cpus: number;
  memoryMb: number;
  state: string;
}

/** A titled table: "On slurm (2 jobs), through ssh login1", or a line saying there are none. */
export function renderBackendJobs(
  backend: string,
  reachedVia: string,
  rows: readonly BackendJobLine[],
): string[] {
  if (rows.length === 0) return [`No jobs on ${backend} (through ${reachedVia}).`];
  return [
    `On ${backend} (${plural(rows.length, 'job')}, through ${reachedVia})`,
    ...renderTable(
      [
        { header: 'NAME' },
        { header: 'BACKEND' },
        { header: 'BACKEND ID' },
        { header: 'USER' },
        { header: 'PROJECT' },
        { header: 'REQUEST' },
        { header: 'STATE' },
        { header: 'COMMAND' },
      ],
      rows.map((row) => [
        row.name,
        row.backend,
        row.backendJobId,
        row.user,
        row.project,
        formatRequest({ gpus: row.gpus, cpus: row.cpus, memoryMb: row.memoryMb }),
        row.state,
        row.command,
      ]),
    ),
  ];
}
