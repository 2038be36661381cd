import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  addRemoteEntry,
  listRemoteEntries,
  remotesFilePath,
  removeRemoteEntry,
  resolveRemote,
} from '../../src/services/remotes.js';
import { makeTempDir } from '../support/tmp.js';

describe('the remotes file (a real temp folder)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('rp-remotes-'));
    file = join(dir, 'config/rp/remotes.json');
  });
  afterEach(async () => cleanup());

  it('Given none, When a remote is added, Then the file is made private and lists it', async () => {
    expect(await listRemoteEntries(file)).toEqual([]);
    await addRemoteEntry(file, { name: 'gpu1', target: 'me@gpu1', port: 2222 }, false);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      version: 1,
      remotes: { gpu1: { target: 'me@gpu1', path: '~/rp-remote', port: 2222 } },
    });
    await removeRemoteEntry(file, 'gpu1');
    expect(await listRemoteEntries(file)).toEqual([]);
  });

  it('a broken file is an error naming it, not a stack trace', async () => {
    await mkdir(join(dir, 'config/rp'), { recursive: true });
    await writeFile(file, '{"version": 1, "remotes": {"Bad Name": {}}}');
    await expect(listRemoteEntries(file)).rejects.toThrow(ConfigError);
    await expect(listRemoteEntries(file)).rejects.toThrow(file);
  });

  it("a bare --on means the project's .rp/remote.json, found from a subfolder", async () => {
    await addRemoteEntry(file, { name: 'gpu1', target: 'gpu1-alias' }, false);
    const project = join(dir, 'proj');
    await mkdir(join(project, '.rp'), { recursive: true });
    await mkdir(join(project, 'src'));
    await writeFile(join(project, '.rp/info.json'), '{}');
    await expect(resolveRemote('', join(project, 'src'), file)).rejects.toThrow(
      /--on without a name needs \.rp\/remote\.json/,
    );
    await writeFile(join(project, '.rp/remote.json'), '{"remote": "gpu1"}');
    expect(await resolveRemote('', join(project, 'src'), file)).toEqual({
      name: 'gpu1',
      remote: { target: 'gpu1-alias', path: '~/rp-remote' },
    });
  });

  it('lives in RP_REMOTES_FILE, else XDG_CONFIG_HOME/rp, else ~/.config/rp', () => {
    expect(remotesFilePath({ RP_REMOTES_FILE: '/x/r.json' })).toBe('/x/r.json');
    expect(remotesFilePath({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/rp/remotes.json');
    expect(remotesFilePath({})).toMatch(/\/\.config\/rp\/remotes\.json$/);
  });
});
