/** `rp host show` and `rp host refresh` for people: where the files are, capacity, limits. */
import { formatCapacity, formatLimits } from '../core/host-config.js';
import type { HostReport } from '../services/host-setup.js';

export function renderHostReport(report: HostReport): string[] {
  return [
    `host directory: ${report.paths.home}`,
    `  config:    ${report.paths.config}`,
    `  inventory: ${report.paths.inventory} (detected ${report.detectedAt})`,
    `  ledger:    ${report.paths.ledger}`,
    `  history:   ${report.paths.history}/ (a file per month, YYYY-MM.jsonl)`,
    '',
    ...formatCapacity(report.capacity),
    '',
    ...formatLimits(report.limits),
    ...(report.backend === undefined ? [] : ['', ...report.backend]),
  ];
}
