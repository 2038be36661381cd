import { chmod, mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { LaunchSpec } from '../../src/core/launch-spec.js';
import {
  LAUNCH_DIR,
  ORPHAN_LAUNCH_AGE_MS,
  readLaunchFile,
  removeLaunchFile,
  removeOrphanLaunchFiles,
  writeLaunchFile,
} from '../../src/ledger/launch-files.js';
import { ledgerPaths, type LedgerPaths } from '../../src/ledger/paths.js';
import { makeTempDir } from '../support/tmp.js';

const spec: LaunchSpec = {
  image: 'rp/alice-proj:0123abcd',
  user: { uid: 1000, gid: 1000 },
  groups: [],
  command: ['./train.sh'],
  workingDir: '/home/alice/proj',
  mounts: [],
  shmBytes: 1024,
  env: {},
  logDir: { host: '/srv/proj/.rp/logs', container: '/home/alice/proj/.rp/logs' },
};

describe('launch files', () => {
  let paths: LedgerPaths;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const dir = await makeTempDir('rp-launch-');
    cleanup = dir.cleanup;
    paths = ledgerPaths(dir.dir);
    await mkdir(paths.dir, { recursive: true });
    // As `rp host init` leaves it, whatever the umask.
    await chmod(paths.dir, 0o2775);
  });
  afterEach(async () => cleanup());

  it('writes a spec that reads back equal, readable by other users, in a group folder', async () => {
    const name = await writeLaunchFile(paths, spec);
    expect(await readLaunchFile(paths, name)).toEqual(spec);
    expect((await stat(join(paths.dir, LAUNCH_DIR, name))).mode & 0o777).toBe(0o644);
    expect((await stat(join(paths.dir, LAUNCH_DIR))).mode & 0o2777).toBe(0o2775);
    await removeLaunchFile(paths, name);
    expect(await readdir(join(paths.dir, LAUNCH_DIR))).toEqual([]);
  });

  it('names the file and the field when a launch file is missing or invalid', async () => {
    await expect(readLaunchFile(paths, 'gone.json')).rejects.toThrow(ConfigError);
    const name = await writeLaunchFile(paths, spec);
    await writeFile(join(paths.dir, LAUNCH_DIR, name), JSON.stringify({ ...spec, shmBytes: -1 }));
    await expect(readLaunchFile(paths, name)).rejects.toThrow(`${name}: shmBytes`);
    await expect(readLaunchFile(paths, '../ledger.json')).rejects.toThrow('not a launch file');
  });

  it('removes only old launch files that no live job names', async () => {
    const named = await writeLaunchFile(paths, spec);
    const orphan = await writeLaunchFile(paths, spec);
    const fresh = await writeLaunchFile(paths, spec);
    const old = new Date(Date.now() - ORPHAN_LAUNCH_AGE_MS - 1000);
    for (const name of [named, orphan]) await utimes(join(paths.dir, LAUNCH_DIR, name), old, old);

    await removeOrphanLaunchFiles(paths, new Set([named]), new Date());

    // The fresh one may belong to a submission whose transaction has not landed yet.
    const left = await readdir(join(paths.dir, LAUNCH_DIR));
    expect(left.sort()).toEqual([named, fresh].sort());
  });
});
