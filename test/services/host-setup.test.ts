import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { HostInventory } from '../../src/core/host-config.js';
import type { GroupInfo } from '../../src/host/inventory.js';
import {
  DEFAULT_RP_HOME,
  hostPaths,
  initHost,
  loadHostConfig,
  rpHomeFromEnv,
  setupHint,
  showHost,
  type InventoryProbe,
} from '../../src/services/host-setup.js';
import { makeTempDir } from '../support/tmp.js';

const GB = 1024;
const INVENTORY: HostInventory = {
  gpus: [{ index: 0, uuid: 'GPU-aaaa', name: 'Fake GPU', memoryMb: 24 * GB }],
  cpuCount: 8,
  memoryTotalMb: 64 * GB,
};

/** Hands out the fixed inventory and records whether GPUs were asked for. */
function fakeProbe(): InventoryProbe & { gpuProbes: boolean[] } {
  const gpuProbes: boolean[] = [];
  const probe = async (what: { gpus: boolean }): Promise<HostInventory> => {
    gpuProbes.push(what.gpus);
    return what.gpus
      ? INVENTORY
      : { cpuCount: INVENTORY.cpuCount, memoryTotalMb: INVENTORY.memoryTotalMb };
  };
  return Object.assign(probe, { gpuProbes });
}

/** The group the test process already is in, so sharing works without root. */
const ownGroup = async (name: string): Promise<GroupInfo> => ({
  name,
  gid: process.getgid?.() ?? 0,
});

let tmp: string;
let cleanup: () => Promise<void>;
let rpHome: string;

beforeEach(async () => {
  ({ dir: tmp, cleanup } = await makeTempDir('rp-host-'));
  rpHome = join(tmp, 'rp-home');
});

afterEach(async () => {
  await cleanup();
});

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('initHost', () => {
  it('creates the shared directory and a default config, and reports what it found', async () => {
    const result = await initHost({
      rpHome,
      force: false,
      probe: fakeProbe(),
      findGroup: ownGroup,
    });

    const info = await stat(rpHome);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o7777).toBe(0o2775);
    expect(result.mode).toBe('2775');
    expect(result.directory).toBe('created');
    expect(result.config).toBe('written');
    expect(result.group).toEqual({ name: 'docker', gid: info.gid });

    const configInfo = await stat(join(rpHome, 'config.json'));
    expect(configInfo.mode & 0o777).toBe(0o664);
    const config = JSON.parse(await readFile(join(rpHome, 'config.json'), 'utf8'));
    expect(config.capacity).toEqual({
      gpus: 'auto',
      cpus: 'auto',
      memoryGb: 'auto',
      systemReserveGb: 'auto',
    });

    expect(result.capacity.gpus).toEqual(INVENTORY.gpus);
    expect(result.capacity.cpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(result.capacity.memoryMb).toBe(64 * GB - Math.floor(6.4 * GB));
    expect(result.paths).toEqual(hostPaths(rpHome));
  });

  it('warns, and keeps going, when the host has no docker group', async () => {
    const result = await initHost({
      rpHome,
      force: false,
      probe: fakeProbe(),
      findGroup: async () => undefined,
    });
    expect(result.group).toBeUndefined();
    expect(result.warnings.join('\n')).toContain('there is no docker group');
  });

  it('refuses to replace an existing config without --force, and replaces it with', async () => {
    // Given a host set up and then edited by its admin
    await initHost({ rpHome, force: false, probe: fakeProbe(), findGroup: ownGroup });
    const configFile = join(rpHome, 'config.json');
    const edited = '{"limits": {"default": {"gpus": 1}}}\n';
    await writeFile(configFile, edited);

    // When init runs again without --force, then it refuses and the edit survives
    const error = await rejection(
      initHost({ rpHome, force: false, probe: fakeProbe(), findGroup: ownGroup }),
    );
    expect(error.message).toContain(`${configFile} exists and was kept`);
    expect(error.hint).toContain('rp host init --force');
    expect(await readFile(configFile, 'utf8')).toBe(edited);

    // When it runs with --force, then the defaults are back
    const result = await initHost({
      rpHome,
      force: true,
      probe: fakeProbe(),
      findGroup: ownGroup,
    });
    expect(result.config).toBe('replaced');
    expect(result.directory).toBe('existing');
    expect(JSON.parse(await readFile(configFile, 'utf8')).limits).toEqual({
      default: {},
      users: {},
    });
  });

  it('makes files an earlier rp left behind group-writable', async () => {
    await mkdir(rpHome, { recursive: true });
    const history = join(rpHome, 'history.jsonl');
    await writeFile(history, '', { mode: 0o644 });
    await initHost({ rpHome, force: false, probe: fakeProbe(), findGroup: ownGroup });
    expect((await stat(history)).mode & 0o777).toBe(0o664);
  });

  it('says what to do when the directory cannot be created', async () => {
    // A regular file where a parent directory should be: mkdir fails (ENOTDIR) even as root.
    const blocker = join(tmp, 'not-a-dir');
    await writeFile(blocker, '');
    const error = await rejection(
      initHost({ rpHome: join(blocker, 'rp'), force: false, probe: fakeProbe() }),
    );
    expect(error.message).toContain(`cannot create ${join(blocker, 'rp')}`);
  });
});

describe('loadHostConfig', () => {
  it('names the missing directory and the command to run', async () => {
    const error = await rejection(loadHostConfig(rpHome, { probe: fakeProbe() }));
    expect(error.message).toBe(`this host is not set up for rp: ${rpHome} does not exist`);
    expect(error.hint).toContain(`RP_HOME=${rpHome} rp host init`);
  });

  it('names the missing config in an existing directory', async () => {
    await mkdir(rpHome);
    const error = await rejection(loadHostConfig(rpHome, { probe: fakeProbe() }));
    expect(error.message).toContain(`${join(rpHome, 'config.json')} does not exist`);
    expect(error.hint).toContain('rp host init');
  });

  it('tells users of the default directory that an admin must run sudo rp host init', () => {
    expect(setupHint(DEFAULT_RP_HOME)).toContain('an administrator must run "sudo rp host init"');
    expect(setupHint(DEFAULT_RP_HOME)).toContain('RP_HOME=~/.rp rp host init');
  });

  it('names the file when it is not JSON', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"capacity": {');
    const error = await rejection(loadHostConfig(rpHome, { probe: fakeProbe() }));
    expect(error.message).toContain(`${file} is not valid JSON`);
  });

  it('names the file and the field of an invalid value', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"limits": {"default": {"gpus": "two"}}}');
    const error = await rejection(loadHostConfig(rpHome, { probe: fakeProbe() }));
    expect(error.message).toContain(file);
    expect(error.message).toContain('limits.default.gpus: must be a whole number of GPUs');
  });

  it('runs nvidia-smi only when the config leaves GPUs to detection', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"capacity": {"gpus": [{"index": 3}]}}');
    const probe = fakeProbe();
    const loaded = await loadHostConfig(rpHome, { probe });
    expect(probe.gpuProbes).toEqual([false]);
    expect(loaded.capacity.gpus).toEqual([{ index: 3 }]);

    await writeFile(file, '{}');
    await loadHostConfig(rpHome, { probe });
    expect(probe.gpuProbes).toEqual([false, true]);
  });
});

describe('showHost', () => {
  it('reports capacity, limits and where the ledger and history live', async () => {
    await initHost({ rpHome, force: false, probe: fakeProbe(), findGroup: ownGroup });
    await writeFile(
      join(rpHome, 'config.json'),
      '{"capacity": {"gpus": [{"index": 0}, {"index": 5}]}, "limits": {"default": {"cpus": 4}}}',
    );
    const report = await showHost({ rpHome, probe: fakeProbe() });
    expect(report.paths.ledger).toBe(join(rpHome, 'ledger.json'));
    expect(report.paths.history).toBe(join(rpHome, 'history.jsonl'));
    // Show compares explicit GPUs with nvidia-smi, to name them and to warn.
    expect(report.capacity.gpus[0]).toMatchObject({ index: 0, name: 'Fake GPU' });
    expect(report.warnings).toEqual([
      'capacity.gpus: GPU 5 is configured but nvidia-smi does not list it',
    ]);
    expect(report.limits.default).toEqual({ cpus: 4 });
  });
});

describe('rpHomeFromEnv', () => {
  it('is RP_HOME when set, else /var/lib/rp, always absolute', () => {
    expect(rpHomeFromEnv({})).toBe('/var/lib/rp');
    expect(rpHomeFromEnv({ RP_HOME: '  ' })).toBe('/var/lib/rp');
    expect(rpHomeFromEnv({ RP_HOME: '/srv/rp/' })).toBe('/srv/rp');
    expect(rpHomeFromEnv({ RP_HOME: 'rel' })).toBe(join(process.cwd(), 'rel'));
  });
});
