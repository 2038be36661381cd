/**
 * The jobs of a backend other than this machine (Slurm) in `rp ps` and `rp queue`: one line per
 * job (or array task), saying which backend holds it, its id there, and its state with Slurm's
 * reason for a waiting job; and the same rows under `backendJobs` in `--json`. Pure: rows in,
 * lines (or the JSON's object) out.
 */
import type { BackendJobListing } from '../core/backend-job-row.js';
import { plural } from '../core/units.js';
import { formatRequest, renderTable } from './tables.js';

/** A titled table: "On slurm (2 jobs, through ssh login1)", or a line saying there are none. */
export function renderBackendJobs(listing: BackendJobListing): string[] {
  const { backend, reachedVia, rows } = listing;
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

/** The lines `rp ps` and `rp queue` print after this machine's: none without another backend. */
export function backendJobsSection(listing: BackendJobListing | undefined): string[] {
  return listing === undefined ? [] : ['', ...renderBackendJobs(listing)];
}

/** A listing's `--json`: this machine's view, plus `backendJobs` where there is another backend. */
export function withBackendJobs<View extends object>(
  view: View,
  listing: BackendJobListing | undefined,
): View | (View & { backendJobs: BackendJobListing['rows'] }) {
  return listing === undefined ? view : { ...view, backendJobs: listing.rows };
}
