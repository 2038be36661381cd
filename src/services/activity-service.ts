/**
 * `rp activity install-service`: writes the systemd units that serve every activity's drop folder
 * (src/core/activity-units.ts). Written again when an activity is added or removed, so the
 * `.path` unit always names every drop folder.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderUnits, UNIT_NAME } from '../core/activity-units.js';
import { RP_BIN } from '../host/package-info.js';
import { ledgerPaths } from '../ledger/paths.js';
import { requireRoot } from './activity-admin.js';
import { readActivities } from './activity-store.js';

export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';

export interface InstalledUnits {
  unitDir: string;
  files: string[];
}

export async function installUnits(options: {
  rpHome: string;
  unitDir: string;
  caller: { uid: number };
}): Promise<InstalledUnits> {
  requireRoot(options.caller, '"rp activity install-service"');
  const activities = await readActivities(options.rpHome);
  const units = renderUnits({
    rpHome: options.rpHome,
    rp: [process.execPath, RP_BIN],
    dropDirs: activities.map((activity) => activity.dropDir),
    historyDir: ledgerPaths(options.rpHome).history.dir,
  });
  const files: string[] = [];
  for (const [name, text] of Object.entries(units)) {
    const path = join(options.unitDir, name);
    await writeFile(path, text, { mode: 0o644 });
    files.push(path);
  }
  return { unitDir: options.unitDir, files };
}

/** Writes the units again when they are installed in `unitDir`; true when it did. */
export async function refreshInstalledUnits(options: {
  rpHome: string;
  unitDir: string;
  caller: { uid: number };
}): Promise<boolean> {
  const installed = await access(join(options.unitDir, `${UNIT_NAME}.path`)).then(
    () => true,
    () => false,
  );
  if (installed) await installUnits(options);
  return installed;
}
