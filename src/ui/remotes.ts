import type { RemoteListing } from '../core/remotes.js';

/** `rp remote list` as a table: NAME, TARGET, PORT, PATH (and RP when it is not plain rp). */
export function renderRemotes(remotes: readonly RemoteListing[]): string[] {
  const rows = [
    ['NAME', 'TARGET', 'PORT', 'PATH', 'RP'],
    ...remotes.map((r) => [r.name, r.target, r.port === null ? '-' : String(r.port), r.path, r.rp]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
