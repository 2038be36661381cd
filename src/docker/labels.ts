/**
 * The labels rp puts on what it creates in Docker, so the ledger can always be checked against,
 * and rebuilt from, what Docker reports.
 */
export const IMAGE_LABELS = {
  repository: 'rp.repository',
  project: 'rp.project',
  projectPath: 'rp.project-path',
  user: 'rp.user',
  contentHash: 'rp.content-hash',
} as const;
