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
  refreshHost,
  showHost,
} from '../../src/services/host-setup.js';
import { openPolicySource, type DetectMachine } from '../../src/services/host-policy.js';
import type { Detection } from '../../src/core/stored-inventory.js';
import { makeTempDir } from '../support/tmp.js';

const GB = 1024;
const INVENTORY: HostInventory = {
  gpus: [{ index: 0, uuid: 'GPU-aaaa', name: 'Fake GPU', memoryMb: 24 * GB }],
  cpuCount: 8,
  memoryTotalMb: 64 * GB,
};

/** Hands out the fixed inventory and records whether GPUs were asked for. */
function fakeProbe(): DetectMachine & { gpuProbes: boolean[] } {
  const gpuProbes: boolean[] = [];
  const probe = async (what: { gpus: boolean }): Promise<Detection> => {
    gpuProbes.push(what.gpus);
    return {
      cpuCount: INVENTORY.cpuCount,
      memoryTotalMb: INVENTORY.memoryTotalMb,
      gpus: what.gpus ? { kind: 'ok', gpus: INVENTORY.gpus ?? [] } : { kind: 'skipped' },
    };
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
      detect: fakeProbe(),
      findGroup: ownGroup,
    });

    // The host directory and its config are root's; the queue folder is the group's.
    const info = await stat(rpHome);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o7777).toBe(0o755);
    expect(result.mode).toBe('755');
    const queue = await stat(join(rpHome, 'queue'));
    expect(queue.mode & 0o7777).toBe(0o2775);
    expect(result.queueMode).toBe('2775');
    expect(result.directory).toBe('created');
    expect(result.config).toBe('written');
    expect(result.group).toEqual({ name: 'docker', gid: queue.gid });

    // The API tokens' folder: anyone may add a file, nobody may list it or remove another's.
    const tokens = await stat(join(rpHome, 'queue/tokens'));
    expect(tokens.mode & 0o7777).toBe(0o1733);
    expect(tokens.uid).toBe(process.getuid?.());

    const configInfo = await stat(join(rpHome, 'config.json'));
    expect(configInfo.mode & 0o777).toBe(0o644);
    // The machine was detected and stored for every process.
    const inventory = JSON.parse(await readFile(join(rpHome, 'queue/inventory.json'), 'utf8'));
    expect(inventory).toMatchObject({ cpuCount: 8, gpus: INVENTORY.gpus });
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
      detect: fakeProbe(),
      findGroup: async () => undefined,
    });
    expect(result.group).toBeUndefined();
    expect(result.warnings.join('\n')).toContain('there is no docker group');
  });

  it('refuses to replace an existing config without --force, and replaces it with', async () => {
    // Given a host set up and then edited by its admin
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    const configFile = join(rpHome, 'config.json');
    const edited = '{"limits": {"default": {"gpus": 1}}}\n';
    await writeFile(configFile, edited);

    // When init runs again without --force, then it refuses and the edit survives
    const error = await rejection(
      initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup }),
    );
    expect(error.message).toContain(`${configFile} exists and was kept`);
    expect(error.hint).toContain('rp host init --force');
    expect(await readFile(configFile, 'utf8')).toBe(edited);

    // When it runs with --force, then the defaults are back
    const result = await initHost({
      rpHome,
      force: true,
      detect: fakeProbe(),
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
    await mkdir(join(rpHome, 'queue'), { recursive: true });
    const history = join(rpHome, 'queue/history.jsonl');
    await writeFile(history, '', { mode: 0o644 });
    const month = join(rpHome, 'queue/history/2026-12.jsonl');
    await mkdir(join(rpHome, 'queue/history'), { mode: 0o755 });
    await writeFile(month, '', { mode: 0o644 });
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    expect((await stat(history)).mode & 0o777).toBe(0o664);
    expect((await stat(month)).mode & 0o777).toBe(0o664);
    expect((await stat(join(rpHome, 'queue/history'))).mode & 0o7777).toBe(0o2775);
  });

  it('says what to do when the directory cannot be created', async () => {
    // A regular file where a parent directory should be: mkdir fails (ENOTDIR) even as root.
    const blocker = join(tmp, 'not-a-dir');
    await writeFile(blocker, '');
    const error = await rejection(
      initHost({ rpHome: join(blocker, 'rp'), force: false, detect: fakeProbe() }),
    );
    expect(error.message).toContain(`cannot create ${join(blocker, 'rp')}`);
  });
});

describe('loadHostConfig', () => {
  it('names the missing directory and the command to run', async () => {
    const error = await rejection(loadHostConfig(rpHome, { detect: fakeProbe() }));
    expect(error.message).toBe(`this host is not set up for rp: ${rpHome} does not exist`);
    expect(error.hint).toContain(`RP_HOME=${rpHome} rp host init`);
  });

  it('names the missing config in an existing directory', async () => {
    await mkdir(rpHome);
    const error = await rejection(loadHostConfig(rpHome, { detect: fakeProbe() }));
    expect(error.message).toContain(`${join(rpHome, 'config.json')} does not exist`);
    expect(error.hint).toContain('rp host init');
  });

  it('tells users of the default directory that an admin must run sudo rp host init', () => {
    expect(setupHint(DEFAULT_RP_HOME)).toContain('an administrator must run "sudo rp host init"');
    // Never a private queue: two queues on one host hand out the same GPUs twice.
    expect(setupHint(DEFAULT_RP_HOME)).not.toContain('RP_HOME=');
  });

  it('names the file when it is not JSON', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"capacity": {');
    const error = await rejection(loadHostConfig(rpHome, { detect: fakeProbe() }));
    expect(error.message).toContain(`${file} is not valid JSON`);
  });

  it('names the file and the field of an invalid value', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"limits": {"default": {"gpus": "two"}}}');
    const error = await rejection(loadHostConfig(rpHome, { detect: fakeProbe() }));
    expect(error.message).toContain(file);
    expect(error.message).toContain('limits.default.gpus: must be a whole number of GPUs');
  });

  it('detects GPUs once for the host, and again only when the config leaves them to detection', async () => {
    await mkdir(rpHome);
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"capacity": {"gpus": [{"index": 3}]}}');
    const probe = fakeProbe();
    // No stored inventory yet: everything is detected and stored.
    const loaded = await loadHostConfig(rpHome, { detect: probe });
    expect(probe.gpuProbes).toEqual([true]);
    expect(loaded.capacity.gpus).toEqual([{ index: 3 }]);

    // Unchanged config: the stored inventory serves, nothing runs.
    await loadHostConfig(rpHome, { detect: probe });
    expect(probe.gpuProbes).toEqual([true]);

    await writeFile(file, '{"capacity": {"gpus": [{"index": 3}]}, "limits": {}}');
    await loadHostConfig(rpHome, { detect: probe });
    expect(probe.gpuProbes).toEqual([true, false]);

    await writeFile(file, '{}');
    const auto = await loadHostConfig(rpHome, { detect: probe });
    expect(probe.gpuProbes).toEqual([true, false, true]);
    expect(auto.capacity.gpus).toEqual(INVENTORY.gpus);
  });
});

describe('the stored inventory', () => {
  const failing: DetectMachine = async (what) => ({
    cpuCount: INVENTORY.cpuCount,
    memoryTotalMb: INVENTORY.memoryTotalMb,
    gpus: what.gpus
      ? { kind: 'failed', reason: 'nvidia-smi did not answer within 5 s' }
      : { kind: 'skipped' },
  });

  it('is never shrunk by a GPU detection that fails or times out', async () => {
    // Given a host set up while nvidia-smi answered
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    // When the config changes and the next detection times out
    await writeFile(join(rpHome, 'config.json'), '{"limits": {"default": {"gpus": 1}}}');
    const loaded = await loadHostConfig(rpHome, { detect: failing });
    // Then the GPUs found before are still the host's
    expect(loaded.capacity.gpus).toEqual(INVENTORY.gpus);
    const refreshed = await refreshHost({ rpHome, detect: failing });
    expect(refreshed.capacity.gpus).toEqual(INVENTORY.gpus);
    expect(refreshed.warnings.join('\n')).toContain('kept the 1 GPU(s) found before');
  });

  it('follows a detection that answered, fewer GPUs included (rp host refresh)', async () => {
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    const none: DetectMachine = async () => ({
      cpuCount: 8,
      memoryTotalMb: 64 * GB,
      gpus: { kind: 'ok', gpus: [] },
    });
    const refreshed = await refreshHost({ rpHome, detect: none });
    expect(refreshed.capacity.gpus).toEqual([]);
    expect(refreshed.warnings.join('\n')).toContain('GPUs changed: 1 before, 0 now');
  });

  it('is what every process schedules with: the config is read again when it changes', async () => {
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"limits": {"default": {"gpus": 1}}}');
    const source = openPolicySource(rpHome, { detect: failing, warn: () => undefined });
    expect((await source.current()).limits.default).toEqual({ gpus: 1 });
    // An admin raises the limit while the process waits
    await writeFile(file, '{"limits": {"default": {"gpus": 4}}}');
    expect((await source.current()).limits.default).toEqual({ gpus: 4 });
  });

  it('keeps the last valid config, and says so once, when an admin breaks the file', async () => {
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    const file = join(rpHome, 'config.json');
    await writeFile(file, '{"limits": {"default": {"gpus": 2}}}');
    const warnings: string[] = [];
    const source = openPolicySource(rpHome, { detect: failing, warn: (l) => warnings.push(l) });
    await source.current();
    await writeFile(file, '{"limits": {"default": {"gpus": "two"}}}');
    expect((await source.current()).limits.default).toEqual({ gpus: 2 });
    expect((await source.current()).limits.default).toEqual({ gpus: 2 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('limits.default.gpus');
    expect(warnings[0]).toContain('still using the last valid host config');
    // A new process has no valid config to fall back on: it refuses, naming the field.
    await expect(openPolicySource(rpHome, { detect: failing }).current()).rejects.toThrow(
      'limits.default.gpus',
    );
  });
});

describe('showHost', () => {
  it('reports capacity, limits and where the ledger and history live', async () => {
    await initHost({ rpHome, force: false, detect: fakeProbe(), findGroup: ownGroup });
    await writeFile(
      join(rpHome, 'config.json'),
      '{"capacity": {"gpus": [{"index": 0}, {"index": 5}]}, "limits": {"default": {"cpus": 4}}}',
    );
    const report = await showHost({ rpHome, detect: fakeProbe() });
    expect(report.paths.ledger).toBe(join(rpHome, 'queue/ledger.json'));
    expect(report.paths.history).toBe(join(rpHome, 'queue/history'));
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
