import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  autoMemoryReserveMb,
  defaultHostConfig,
  fieldPath,
  formatCapacity,
  formatHostConfig,
  formatLimits,
  isUserAllowed,
  limitFor,
  parseHostConfig,
  resolveHostConfig,
  type HostInventory,
} from '../../src/core/host-config.js';

const FILE = '/srv/rp/config.json';
const GB = 1024;

/** A machine with two GPUs, 32 cores and 256 GB, as detection would describe it. */
const MACHINE: HostInventory = {
  gpus: [
    { index: 1, uuid: 'GPU-bbbb', name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
    { index: 0, uuid: 'GPU-aaaa', name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
  ],
  cpuCount: 32,
  memoryTotalMb: 256 * GB,
};

function resolveText(text: string, inventory: HostInventory = MACHINE) {
  return resolveHostConfig(parseHostConfig(text, FILE), inventory, FILE);
}

/** The ConfigError `fn` throws (failing the test when it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseHostConfig and resolveHostConfig', () => {
  it('resolves the default config from what was detected', () => {
    const resolved = resolveText(formatHostConfig(defaultHostConfig()));
    expect(resolved.capacity.gpus.map((gpu) => gpu.index)).toEqual([0, 1]);
    expect(resolved.capacity.gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-aaaa',
      name: 'NVIDIA H100 80GB HBM3',
      memoryMb: 81559,
    });
    expect(resolved.capacity.cpus).toEqual(Array.from({ length: 32 }, (_, i) => i));
    // 10% of 256 GB is 25.6 GB, within the 2..32 GB bounds.
    expect(resolved.capacity.memoryMb).toBe(256 * GB - Math.floor(256 * GB * 0.1));
    expect(resolved.limits).toEqual({ default: {}, users: {} });
    expect(resolved.warnings).toEqual([]);
  });

  it('treats an empty object as "detect everything, no limits"', () => {
    const resolved = resolveText('{}');
    expect(resolved.capacity.cpus).toHaveLength(32);
    expect(resolved.limits.allowedUsers).toBeUndefined();
  });

  it('gives a machine where nvidia-smi found nothing zero GPUs', () => {
    const resolved = resolveText('{}', { ...MACHINE, gpus: [] });
    expect(resolved.capacity.gpus).toEqual([]);
  });

  it('resolves explicit capacity: GPU list, core count, core list, memory', () => {
    const byCount = resolveText(
      '{"capacity": {"gpus": [{"index": 1}], "cpus": 8, "memoryGb": 100.5}}',
    );
    expect(byCount.capacity.gpus).toEqual([
      { index: 1, uuid: 'GPU-bbbb', name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
    ]);
    expect(byCount.capacity.cpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(byCount.capacity.memoryMb).toBe(Math.floor(100.5 * GB));

    const byList = resolveText('{"capacity": {"cpus": [8, 2, 3]}}');
    expect(byList.capacity.cpus).toEqual([2, 3, 8]);
  });

  it('keeps explicit GPUs without probing, and warns about ones nvidia-smi does not list', () => {
    const config = '{"capacity": {"gpus": [{"index": 0, "name": "A"}, {"index": 7}]}}';
    const unprobed = resolveText(config, { cpuCount: 4, memoryTotalMb: 16 * GB });
    expect(unprobed.capacity.gpus).toEqual([{ index: 0, name: 'A' }, { index: 7 }]);
    expect(unprobed.warnings).toEqual([]);

    const probed = resolveText(config);
    expect(probed.capacity.gpus[0]).toMatchObject({ index: 0, name: 'A', uuid: 'GPU-aaaa' });
    expect(probed.warnings).toEqual([
      'capacity.gpus: GPU 7 is configured but nvidia-smi does not list it',
    ]);
  });

  it('resolves the memory reserve: auto bounds and an explicit amount', () => {
    expect(autoMemoryReserveMb(256 * GB)).toBe(Math.floor(25.6 * GB));
    expect(autoMemoryReserveMb(1024 * GB)).toBe(32 * GB); // capped
    expect(autoMemoryReserveMb(16 * GB)).toBe(2 * GB); // floored
    expect(autoMemoryReserveMb(2 * GB)).toBe(1 * GB); // never more than half
    const explicit = resolveText('{"capacity": {"systemReserveGb": 6}}');
    expect(explicit.capacity.memoryMb).toBe(250 * GB);
  });

  it('merges per-user limits with the default; null lifts a limit', () => {
    const resolved = resolveText(
      JSON.stringify({
        limits: {
          default: { gpus: 2, cpus: 16, memoryGb: 64 },
          users: { alice: { gpus: 4 }, root: { gpus: null, memoryGb: null } },
          allowedUsers: ['alice', 'bob', 'root'],
        },
      }),
    );
    const { limits } = resolved;
    expect(limitFor(limits, 'alice')).toEqual({ gpus: 4, cpus: 16, memoryMb: 64 * GB });
    expect(limitFor(limits, 'root')).toEqual({ cpus: 16 });
    expect(limitFor(limits, 'bob')).toEqual({ gpus: 2, cpus: 16, memoryMb: 64 * GB });
    // A user name that is also an Object.prototype property is just a user.
    expect(limitFor(limits, 'constructor')).toEqual(limits.default);
    expect(isUserAllowed(limits, 'bob')).toBe(true);
    expect(isUserAllowed(limits, 'mallory')).toBe(false);
    expect(formatLimits(limits)).toEqual([
      'Per-user limit: at most 2 GPUs, 16 CPUs, 64 GB memory at once',
      '  alice: at most 4 GPUs, 16 CPUs, 64 GB memory at once',
      '  root: at most 16 CPUs at once',
      'Allowed users: alice, bob, root',
      "Time limit of jobs that give none: the user's maximum, else unlimited",
      'At a time limit: SIGTERM, then SIGKILL 30s later',
    ]);
  });

  it('reads what to do with GPUs busy outside rp: avoid them unless told to ignore them', () => {
    expect(resolveText('{}').limits.unmanagedGpus).toBeUndefined();
    const { limits } = resolveText('{"gpus": {"unmanaged": "ignore"}}');
    expect(limits.unmanagedGpus).toBe('ignore');
    expect(formatLimits(limits).at(-1)).toBe(
      'GPUs busy outside rp: granted as if free (gpus.unmanaged: "ignore")',
    );
  });

  it('reads the booking rules, merging per-user allowances with the host defaults', () => {
    const { limits } = resolveText(
      JSON.stringify({
        bookings: { maxHours: 8, alignMinutes: 30, users: { alice: { maxHours: 48 } } },
      }),
    );
    expect(limits.bookings).toEqual({
      maxAheadDays: 14,
      maxHours: 8,
      maxActivePerUser: 2,
      alignMinutes: 30,
      overrunMinutes: 0,
      idleReleaseMinutes: 30,
      users: { alice: { maxAheadDays: 14, maxHours: 48, maxActivePerUser: 2 } },
    });
    expect(resolveText('{}').limits.bookings).toBeUndefined();
  });

  it('reads time caps, the default time limit and the kill wait; null lifts a cap', () => {
    const { limits } = resolveText(
      JSON.stringify({
        limits: {
          default: { maxTime: '3d' },
          users: { alice: { maxTime: '12:00:00' }, root: { maxTime: null } },
          defaultTime: '2h',
          killWaitSeconds: 10,
        },
      }),
    );
    expect(limitFor(limits, 'bob')).toEqual({ maxTimeSeconds: 3 * 86_400 });
    expect(limitFor(limits, 'alice')).toEqual({ maxTimeSeconds: 12 * 3600 });
    expect(limitFor(limits, 'root')).toEqual({});
    expect(limits.defaultTimeSeconds).toBe(7200);
    expect(limits.killWaitSeconds).toBe(10);
    expect(formatLimits(limits)).toEqual([
      'Per-user limit: jobs of at most 3d',
      '  alice: jobs of at most 12h',
      '  root: no limit',
      'Allowed users: everyone',
      'Time limit of jobs that give none: 2h',
      'At a time limit: SIGTERM, then SIGKILL 10s later',
    ]);
  });

  it('describes the capacity for people', () => {
    const resolved = resolveText('{"capacity": {"cpus": [0, 1, 2, 3, 8], "memoryGb": 64}}');
    expect(formatCapacity(resolved.capacity)).toEqual([
      'GPUs:   2',
      '  0: NVIDIA H100 80GB HBM3, 79.6 GB, GPU-aaaa',
      '  1: NVIDIA H100 80GB HBM3, 79.6 GB, GPU-bbbb',
      'CPUs:   5 cores (0-3,8)',
      'Memory: 64 GB for jobs',
    ]);
  });
});

describe('invalid host configs', () => {
  it.each([
    ['{"capacity": {"gpus": "all"}}', 'capacity.gpus', 'must be "auto" or a list of GPUs'],
    ['{"capacity": {"gpus": [{"index": -1}]}}', 'capacity.gpus[0].index', 'must be a GPU index'],
    [
      '{"capacity": {"gpus": [{"index": 0}, {"index": 0}]}}',
      'capacity.gpus[1].index',
      'listed twice',
    ],
    ['{"capacity": {"gpus": [{"idx": 0}]}}', 'capacity.gpus[0]', 'unknown field "idx"'],
    ['{"capacity": {"cpus": 0}}', 'capacity.cpus', 'a number of cores (1 or more'],
    ['{"capacity": {"cpus": 2.5}}', 'capacity.cpus', 'a number of cores (1 or more'],
    ['{"capacity": {"cpus": []}}', 'capacity.cpus', 'the list of cores is empty'],
    ['{"capacity": {"cpus": [0, 0]}}', 'capacity.cpus[1]', 'core 0 is listed twice'],
    ['{"capacity": {"cpus": [0, -1]}}', 'capacity.cpus[1]', 'must be a core id'],
    ['{"capacity": {"memoryGb": -4}}', 'capacity.memoryGb', 'an amount in GB greater than 0'],
    ['{"capacity": {"memoryGb": "lots"}}', 'capacity.memoryGb', 'must be "auto" or an amount'],
    ['{"capacity": {"gpu": "auto"}}', 'capacity', 'unknown field "gpu" (allowed: gpus, cpus,'],
    [
      '{"gpus": {"unmanaged": "kill"}}',
      'gpus.unmanaged',
      'must be "avoid" (the default) or "ignore"',
    ],
    ['{"gpus": {"unmanged": "avoid"}}', 'gpus', 'unknown field "unmanged" (allowed: unmanaged)'],
    ['{"limits": {"default": {"gpus": -1}}}', 'limits.default.gpus', 'whole number of GPUs'],
    [
      '{"limits": {"users": {"bob": {"memoryGb": "x"}}}}',
      'limits.users.bob.memoryGb',
      'or null for no limit',
    ],
    ['{"limits": {"allowedUsers": "alice"}}', 'limits.allowedUsers', 'a list of user names'],
    ['{"limits": {"default": {"maxTime": "soon"}}}', 'limits.default.maxTime', 'length of time'],
    ['{"limits": {"users": {"bob": {"maxTime": 5}}}}', 'limits.users.bob.maxTime', 'or null'],
    ['{"limits": {"defaultTime": "2 fortnights"}}', 'limits.defaultTime', 'length of time'],
    ['{"limits": {"killWaitSeconds": -1}}', 'limits.killWaitSeconds', 'whole number of seconds'],
    ['{"bookings": {"alignMinutes": 7}}', 'bookings.alignMinutes', 'must divide an hour'],
    ['{"bookings": {"maxHours": 0}}', 'bookings.maxHours', 'hours above 0'],
    ['{"bookings": {"users": {"bob": {"align": 5}}}}', 'bookings.users.bob', 'unknown field'],
    ['{"version": 2}', 'version', 'must be 1'],
    ['[]', '(top level)', 'must be a JSON object'],
  ])('%s names the file, %s and what is allowed', (text, field, allowed) => {
    const error = configError(() => parseHostConfig(text, FILE));
    expect(error.message).toContain(FILE);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(allowed);
    expect(error.hint).toContain('rp host init --force');
  });

  it('lists every problem, one per line', () => {
    const error = configError(() =>
      parseHostConfig('{"capacity": {"cpus": -1, "memoryGb": 0}, "extra": 1}', FILE),
    );
    expect(error.message.split('\n')).toHaveLength(4);
  });

  it('says when the file is not JSON at all', () => {
    const error = configError(() => parseHostConfig('{"capacity": ', FILE));
    expect(error.message).toMatch(/^\/srv\/rp\/config.json is not valid JSON: /);
  });

  it('refuses explicit cores the machine does not have', () => {
    const tooMany = configError(() => resolveText('{"capacity": {"cpus": 64}}'));
    expect(tooMany.message).toContain(`${FILE}: capacity.cpus: 64 cores configured`);
    const missing = configError(() => resolveText('{"capacity": {"cpus": [0, 31, 32, 33]}}'));
    expect(missing.message).toContain('capacity.cpus: cores 32-33 not on this machine');
  });

  it('refuses a reserve that leaves no memory for jobs', () => {
    const error = configError(() => resolveText('{"capacity": {"systemReserveGb": 300}}'));
    expect(error.message).toContain('capacity.systemReserveGb');
    expect(error.message).toContain(FILE);
  });

  it('writes field paths like a person would', () => {
    expect(fieldPath(['capacity', 'gpus', 1, 'index'])).toBe('capacity.gpus[1].index');
    expect(fieldPath([])).toBe('(top level)');
  });
});
