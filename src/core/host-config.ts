/**
 * The host configuration ($RP_HOME/config.json): what this machine lends to jobs and how much of it
 * one user may hold at once. Pure: parsing, validation and resolution against an inventory that the
 * caller detected (src/host/inventory.ts) and passes in as data.
 */
import * as z from './zod.js';
import { backendConfigSchema } from './backend-config.js';
import type { UnmanagedGpuPolicy } from './gpu-processes.js';
import { DURATION_FORMS, formatSeconds, parseTimeLimit } from './durations.js';
import { ConfigError } from './errors.js';
import { formatIdRanges, formatMemory, gbToMb, MB_PER_GB, plural } from './units.js';

/** One GPU as rp hands it out. Only the index is needed to grant it; the rest is for people. */
export interface GpuInfo {
  index: number;
  uuid?: string;
  name?: string;
  memoryMb?: number;
}

/** What the machine lends to jobs, resolved to concrete ids and amounts. */
export interface HostCapacity {
  /** Sorted by index. */
  gpus: GpuInfo[];
  /** Core ids, sorted. */
  cpus: number[];
  memoryMb: number;
}

/** The most one user may hold at once (granted and running jobs together). Absent: no limit. */
export interface ResourceLimit {
  gpus?: number;
  cpus?: number;
  memoryMb?: number;
  /** The longest time limit one job may have, in seconds (`maxTime`). */
  maxTimeSeconds?: number;
}

export interface UserLimits {
  /** Applies to every user without an entry in `users`. */
  default: ResourceLimit;
  /** Per-user limits, already merged with the default (a user's entry is complete). */
  users: Record<string, ResourceLimit>;
  /** Absent: every user may use rp. */
  allowedUsers?: string[];
  /** The time limit of a job that gives none (`defaultTime`); absent: the user's maxTime. */
  defaultTimeSeconds?: number;
  /** How long a job stopped at its limit gets between SIGTERM and SIGKILL; default 30. */
  killWaitSeconds?: number;
  /** The host's booking rules (config.json `bookings`); absent: the defaults. */
  bookings?: BookingRules;
  /**
   * GPUs that a process outside rp uses (config.json `gpus.unmanaged`): `avoid` (absent) keeps
   * them from jobs until they are free again; `ignore` grants them as if they were free.
   */
  unmanagedGpus?: UnmanagedGpuPolicy;
}

/** What one user may book (config.json `bookings`, and a user's entry in `bookings.users`). */
export interface BookingAllowance {
  /** How far ahead a booking may start. */
  maxAheadDays: number;
  /** How long one booking may last. */
  maxHours: number;
  /** How many upcoming and active bookings one user may hold. */
  maxActivePerUser: number;
}

export interface BookingRules extends BookingAllowance {
  /** Starts and ends fall on multiples of this many minutes past the hour (30: :00 and :30). */
  alignMinutes: number;
  /** A job granted in a booking may run this long past its end. */
  overrunMinutes: number;
  /** A booking none of whose user's jobs has run this long after its start is released. */
  idleReleaseMinutes: number;
  /** Per-user allowances, merged with the host's. */
  users: Record<string, BookingAllowance>;
}

export const DEFAULT_BOOKING_RULES: BookingRules = {
  maxAheadDays: 14,
  maxHours: 24,
  maxActivePerUser: 2,
  alignMinutes: 1,
  overrunMinutes: 0,
  idleReleaseMinutes: 30,
  users: {},
};

/** The booking rules in force: the config's, or the defaults. */
export function bookingRulesOf(limits: UserLimits): BookingRules {
  return limits.bookings ?? DEFAULT_BOOKING_RULES;
}

/** The booking rules for `user`: their own allowance where the config gives one. */
export function bookingAllowanceFor(rules: BookingRules, user: string): BookingAllowance {
  return Object.hasOwn(rules.users, user) ? (rules.users[user] ?? rules) : rules;
}

/** Seconds between SIGTERM and SIGKILL at a job's time limit when the config says nothing. */
export const DEFAULT_KILL_WAIT_SECONDS = 30;

/**
 * What was found on the machine. `gpus` is undefined when GPUs were not probed (the config lists
 * them explicitly and nobody asked), which is different from "probed and found none" (`[]`).
 */
export interface HostInventory {
  gpus?: GpuInfo[];
  cpuCount: number;
  memoryTotalMb: number;
}

export interface ResolvedHostConfig {
  capacity: HostCapacity;
  limits: UserLimits;
  /** Things an admin should know but that do not stop rp (an explicit GPU nvidia-smi lacks...). */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Schema. Every leaf carries a message that says what is allowed, because zod's own messages
// ("Too small: expected number to be >0") do not tell an admin what to write instead.

const AUTO = z.literal('auto');

function wholeNumber(allowed: string, min: number) {
  return z.number({ error: allowed }).int({ error: allowed }).min(min, { error: allowed });
}

function amount(allowed: string, options: { positive: boolean }) {
  const number = z.number({ error: allowed }).refine(Number.isFinite, { error: allowed });
  return options.positive
    ? number.refine((n) => n > 0, { error: allowed })
    : number.refine((n) => n >= 0, { error: allowed });
}

/** A strict object: a misspelt field is an error that lists the fields there are. */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const fields = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
        return `unknown field${issue.keys.length === 1 ? '' : 's'} ${keys} (allowed: ${fields})`;
      }
      if (issue.code === 'invalid_type') return `must be ${what}`;
      return undefined;
    },
  });
}

const GPU_ALLOWED = 'must be "auto" or a list of GPUs like [{"index": 0}, {"index": 1}]';

const gpuSchema = strictObject(
  {
    index: wholeNumber('must be a GPU index (a whole number, 0 or more)', 0),
    uuid: z.string({ error: 'must be a string like "GPU-5f1c..."' }).min(1).optional(),
    name: z.string({ error: 'must be a string' }).optional(),
    memoryMb: wholeNumber('must be a whole number of MiB (1 or more)', 1).optional(),
  },
  'a GPU like {"index": 0, "uuid": "GPU-...", "name": "...", "memoryMb": 81920}',
);

const gpuListSchema = z.array(gpuSchema, { error: GPU_ALLOWED }).superRefine((gpus, ctx) => {
  const seen = new Set<number>();
  gpus.forEach((gpu, i) => {
    if (seen.has(gpu.index)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'index'],
        message: `GPU index ${gpu.index} is listed twice; each GPU may appear once`,
      });
    }
    seen.add(gpu.index);
  });
});

const CPU_ALLOWED =
  'must be "auto", a number of cores (1 or more, meaning cores 0..n-1) or a list of core ids like [0, 1, 2, 3]';

const cpuListSchema = z
  .array(wholeNumber('must be a core id (a whole number, 0 or more)', 0), {
    error: CPU_ALLOWED,
  })
  .min(1, { error: `the list of cores is empty; it ${CPU_ALLOWED}` })
  .superRefine((ids, ctx) => {
    const seen = new Set<number>();
    ids.forEach((id, i) => {
      if (seen.has(id)) {
        ctx.addIssue({ code: 'custom', path: [i], message: `core ${id} is listed twice` });
      }
      seen.add(id);
    });
  });

const MEMORY_ALLOWED = 'must be "auto" or an amount in GB greater than 0 (for example 256)';
const RESERVE_ALLOWED =
  'must be "auto" (10% of the memory, at least 2 GB and at most 32 GB) or an amount in GB (0 or more)';

const capacitySchema = strictObject(
  {
    gpus: z.union([AUTO, gpuListSchema], { error: GPU_ALLOWED }).default('auto'),
    cpus: z
      .union([AUTO, wholeNumber(CPU_ALLOWED, 1), cpuListSchema], { error: CPU_ALLOWED })
      .default('auto'),
    memoryGb: z
      .union([AUTO, amount(MEMORY_ALLOWED, { positive: true })], { error: MEMORY_ALLOWED })
      .default('auto'),
    systemReserveGb: z
      .union([AUTO, amount(RESERVE_ALLOWED, { positive: false })], { error: RESERVE_ALLOWED })
      .default('auto'),
  },
  'an object like {"gpus": "auto", "cpus": "auto", "memoryGb": "auto"}',
);

const LIMIT_GPUS = 'must be a whole number of GPUs (0 or more)';
const LIMIT_CPUS = 'must be a whole number of CPUs (0 or more)';
const LIMIT_MEMORY = 'must be an amount in GB (0 or more)';
const LIMIT_TIME = `must be a length of time (${DURATION_FORMS})`;

/** A length of time as `rp run --time` takes it, kept as text; resolved to seconds below. */
const timeText = z
  .string({ error: LIMIT_TIME })
  .refine((text) => parseTimeLimit(text) !== undefined, {
    error: LIMIT_TIME,
  });

const defaultLimitSchema = strictObject(
  {
    gpus: wholeNumber(LIMIT_GPUS, 0).optional(),
    cpus: wholeNumber(LIMIT_CPUS, 0).optional(),
    memoryGb: amount(LIMIT_MEMORY, { positive: false }).optional(),
    maxTime: timeText.optional(),
  },
  'an object like {"gpus": 4, "cpus": 32, "memoryGb": 128, "maxTime": "3d"} (leave a field out for no limit)',
);

// In a user's entry, null lifts a default limit for that user (an admin's own account, say).
const userLimitSchema = strictObject(
  {
    gpus: wholeNumber(`${LIMIT_GPUS}, or null for no limit`, 0).nullable().optional(),
    cpus: wholeNumber(`${LIMIT_CPUS}, or null for no limit`, 0).nullable().optional(),
    memoryGb: amount(`${LIMIT_MEMORY}, or null for no limit`, { positive: false })
      .nullable()
      .optional(),
    maxTime: z
      .union([timeText, z.null()], { error: `${LIMIT_TIME}, or null for no limit` })
      .optional(),
  },
  'an object like {"gpus": 8} (a field left out takes the default; null means no limit)',
);

const userNameSchema = z.string().min(1, { error: 'user names must not be empty' });

const limitsSchema = strictObject(
  {
    default: defaultLimitSchema.default({}),
    users: z
      .record(userNameSchema, userLimitSchema, {
        error: 'must be an object mapping user names to limits, like {"alice": {"gpus": 8}}',
      })
      .default({}),
    allowedUsers: z
      .array(userNameSchema, { error: 'must be a list of user names like ["alice", "bob"]' })
      .optional(),
    defaultTime: timeText.optional(),
    killWaitSeconds: wholeNumber('must be a whole number of seconds (0 or more)', 0).optional(),
  },
  'an object like {"default": {"gpus": 4}, "users": {"alice": {"gpus": 8}}}',
);

const ALLOWANCE_FIELDS = {
  maxAheadDays: wholeNumber('must be a whole number of days (0 or more)', 0).optional(),
  maxHours: amount('must be a number of hours above 0', { positive: true }).optional(),
  maxActivePerUser: wholeNumber('must be a whole number of bookings (0 or more)', 0).optional(),
};

const bookingsSchema = strictObject(
  {
    ...ALLOWANCE_FIELDS,
    alignMinutes: wholeNumber('must be a whole number of minutes from 1 to 60', 1)
      .max(60, { error: 'must be a whole number of minutes from 1 to 60' })
      .refine((minutes) => 60 % minutes === 0, {
        error: 'must divide an hour: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60',
      })
      .optional(),
    overrunMinutes: wholeNumber('must be a whole number of minutes (0 or more)', 0).optional(),
    idleReleaseMinutes: wholeNumber('must be a whole number of minutes (1 or more)', 1).optional(),
    users: z
      .record(userNameSchema, strictObject(ALLOWANCE_FIELDS, 'an object like {"maxHours": 48}'), {
        error: 'must be an object mapping user names to rules, like {"alice": {"maxHours": 48}}',
      })
      .optional(),
  },
  'an object like {"maxAheadDays": 14, "maxHours": 24, "alignMinutes": 30}',
);

const UNMANAGED_ALLOWED = 'must be "avoid" (the default) or "ignore"';

const gpusSchema = strictObject(
  {
    unmanaged: z.enum(['avoid', 'ignore'], { error: UNMANAGED_ALLOWED }).optional(),
  },
  'an object like {"unmanaged": "avoid"}',
);

export const hostConfigSchema = strictObject(
  {
    version: z.literal(1, { error: 'must be 1 (the only version there is)' }).optional(),
    capacity: capacitySchema.default({
      gpus: 'auto',
      cpus: 'auto',
      memoryGb: 'auto',
      systemReserveGb: 'auto',
    }),
    limits: limitsSchema.default({ default: {}, users: {} }),
    bookings: bookingsSchema.optional(),
    gpus: gpusSchema.optional(),
    /** Where jobs run: this machine (absent) or a Slurm cluster; see backend-config.ts. */
    backend: backendConfigSchema.optional(),
  },
  'a JSON object like {"capacity": {...}, "limits": {...}, "bookings": {...}, "gpus": {...}, "backend": {...}}',
);

export type HostConfig = z.infer<typeof hostConfigSchema>;

/** The config `rp host init` writes: detect everything, no per-user limits, everyone allowed. */
export function defaultHostConfig(): HostConfig {
  return {
    version: 1,
    capacity: { gpus: 'auto', cpus: 'auto', memoryGb: 'auto', systemReserveGb: 'auto' },
    limits: { default: {}, users: {} },
  };
}

/** The file's text: two-space JSON and a final newline, so admins can edit and diff it. */
export function formatHostConfig(config: HostConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Hint for every problem in the file: where to fix it and how to start over. */
function fixHint(file: string): string {
  return `edit ${file}, or run "rp host init --force" to replace it with the defaults`;
}

/**
 * Parses and validates the text of a config file. Every problem is a ConfigError naming the file,
 * the field (as a path like `capacity.gpus[1].index`) and what is allowed there.
 */
export function parseHostConfig(text: string, file: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`${file} is not valid JSON: ${detail}`, {
      hint: fixHint(file),
      cause: error,
    });
  }
  const result = hostConfigSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues
    .flatMap((issue) => explain(issue, []))
    .map((problem) => `${fieldPath(problem.path)}: ${problem.message}`);
  const message =
    problems.length === 1
      ? `invalid host config ${file}: ${problems[0]}`
      : `invalid host config ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`;
  throw new ConfigError(message, { hint: fixHint(file) });
}

/**
 * The problems an issue stands for. When a value matches one alternative's type but is wrong
 * inside ("gpus": [{"idx": 0}] is a list, but of bad GPUs), zod reports only that no alternative
 * matched; the problems inside that one alternative are what the admin needs to see.
 */
function explain(
  issue: z.core.$ZodIssue,
  base: readonly PropertyKey[],
): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union') {
    const deeper = issue.errors.filter((branch) =>
      branch.some(
        (inner) =>
          inner.path.length > 0 ||
          (inner.code !== 'invalid_type' && inner.code !== 'invalid_value'),
      ),
    );
    const [only] = deeper;
    if (deeper.length === 1 && only !== undefined) {
      return only.flatMap((inner) => explain(inner, path));
    }
  }
  return [{ path, message: issue.message }];
}

/** ['capacity', 'gpus', 1, 'index'] → "capacity.gpus[1].index"; [] → "(top level)". */
export function fieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(top level)' : text;
}

// ---------------------------------------------------------------------------------------------
// Resolution: "auto" and counts become concrete ids and amounts.

const RESERVE_FRACTION = 0.1;
const RESERVE_MIN_MB = 2 * MB_PER_GB;
const RESERVE_MAX_MB = 32 * MB_PER_GB;

/**
 * The memory kept back for the system when `memoryGb` is "auto": 10% of the total, at least 2 GB
 * (the OS, Docker and the users' shells need that much even on a small box) and at most 32 GB
 * (10% of a 1 TB machine would idle 100 GB), but never more than half of the machine.
 */
export function autoMemoryReserveMb(totalMb: number): number {
  const tenth = Math.floor(totalMb * RESERVE_FRACTION);
  const clamped = Math.min(Math.max(tenth, RESERVE_MIN_MB), RESERVE_MAX_MB);
  return Math.min(clamped, Math.floor(totalMb / 2));
}

/**
 * Turns a parsed config into the capacity and limits rp schedules with, given what was detected on
 * the machine. `file` is named in errors. Explicit values that cannot work on this machine (core
 * ids it does not have) are errors; explicit values that might (a GPU nvidia-smi did not list,
 * which happens when the driver is busy) are warnings.
 */
export function resolveHostConfig(
  config: HostConfig,
  inventory: HostInventory,
  file: string,
): ResolvedHostConfig {
  const warnings: string[] = [];
  const capacity: HostCapacity = {
    gpus: resolveGpus(config.capacity.gpus, inventory, warnings),
    cpus: resolveCpus(config.capacity.cpus, inventory, file),
    memoryMb: resolveMemory(config.capacity, inventory, file, warnings),
  };
  const limits = resolveLimits(config.limits);
  if (config.bookings !== undefined) limits.bookings = resolveBookingRules(config.bookings);
  if (config.gpus?.unmanaged !== undefined) limits.unmanagedGpus = config.gpus.unmanaged;
  return { capacity, limits, warnings };
}

function resolveGpus(
  gpus: HostConfig['capacity']['gpus'],
  inventory: HostInventory,
  warnings: string[],
): GpuInfo[] {
  if (gpus === 'auto') return sortGpus((inventory.gpus ?? []).map((gpu) => ({ ...gpu })));
  const detected = inventory.gpus;
  const resolved = gpus.map((configured): GpuInfo => {
    const found = detected?.find((gpu) => gpu.index === configured.index);
    if (detected !== undefined && found === undefined) {
      warnings.push(
        `capacity.gpus: GPU ${configured.index} is configured but nvidia-smi does not list it`,
      );
    }
    if (found?.uuid && configured.uuid && found.uuid !== configured.uuid) {
      warnings.push(
        `capacity.gpus: GPU ${configured.index} is configured as ${configured.uuid} but nvidia-smi reports ${found.uuid}`,
      );
    }
    // Configured fields win; detected ones fill the gaps so `rp host show` can name the GPU.
    return dropUndefined({
      index: configured.index,
      uuid: configured.uuid ?? found?.uuid,
      name: configured.name ?? found?.name,
      memoryMb: configured.memoryMb ?? found?.memoryMb,
    });
  });
  return sortGpus(resolved);
}

function sortGpus(gpus: GpuInfo[]): GpuInfo[] {
  return gpus.sort((a, b) => a.index - b.index);
}

function dropUndefined(gpu: GpuInfo): GpuInfo {
  const result: GpuInfo = { index: gpu.index };
  if (gpu.uuid !== undefined) result.uuid = gpu.uuid;
  if (gpu.name !== undefined) result.name = gpu.name;
  if (gpu.memoryMb !== undefined) result.memoryMb = gpu.memoryMb;
  return result;
}

function resolveCpus(
  cpus: HostConfig['capacity']['cpus'],
  inventory: HostInventory,
  file: string,
): number[] {
  const count = inventory.cpuCount;
  if (cpus === 'auto') return range(count);
  if (typeof cpus === 'number') {
    if (cpus > count) {
      throw new ConfigError(
        `invalid host config ${file}: capacity.cpus: ${plural(cpus, 'core')} configured but this machine has ${count}`,
        { hint: fixHint(file) },
      );
    }
    return range(cpus);
  }
  const missing = cpus.filter((id) => id >= count);
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid host config ${file}: capacity.cpus: core${missing.length === 1 ? '' : 's'} ${formatIdRanges(missing)} ` +
        `not on this machine (it has cores ${formatIdRanges(range(count))})`,
      { hint: fixHint(file) },
    );
  }
  return [...cpus].sort((a, b) => a - b);
}

function resolveMemory(
  capacity: HostConfig['capacity'],
  inventory: HostInventory,
  file: string,
  warnings: string[],
): number {
  const total = inventory.memoryTotalMb;
  if (capacity.memoryGb !== 'auto') {
    const configured = gbToMb(capacity.memoryGb);
    if (configured > total) {
      warnings.push(
        `capacity.memoryGb: ${formatMemory(configured)} configured but this machine has ${formatMemory(total)}`,
      );
    }
    if (capacity.systemReserveGb !== 'auto') {
      warnings.push('capacity.systemReserveGb is ignored because capacity.memoryGb is explicit');
    }
    return configured;
  }
  const reserve =
    capacity.systemReserveGb === 'auto'
      ? autoMemoryReserveMb(total)
      : gbToMb(capacity.systemReserveGb);
  const left = total - reserve;
  if (left <= 0) {
    throw new ConfigError(
      `invalid host config ${file}: capacity.systemReserveGb: reserving ${formatMemory(reserve)} ` +
        `leaves no memory for jobs (this machine has ${formatMemory(total)})`,
      { hint: fixHint(file) },
    );
  }
  return left;
}

function resolveLimits(limits: HostConfig['limits']): UserLimits {
  const base: ResourceLimit = {};
  if (limits.default.gpus !== undefined) base.gpus = limits.default.gpus;
  if (limits.default.cpus !== undefined) base.cpus = limits.default.cpus;
  if (limits.default.memoryGb !== undefined) base.memoryMb = gbToMb(limits.default.memoryGb);
  const defaultMax = timeSeconds(limits.default.maxTime);
  if (defaultMax !== undefined) base.maxTimeSeconds = defaultMax;
  // Object.fromEntries defines own properties, so odd names ("constructor") are plain keys.
  const users = Object.fromEntries(
    Object.entries(limits.users).map(([user, override]): [string, ResourceLimit] => {
      const merged: ResourceLimit = { ...base };
      if (override.gpus === null) delete merged.gpus;
      else if (override.gpus !== undefined) merged.gpus = override.gpus;
      if (override.cpus === null) delete merged.cpus;
      else if (override.cpus !== undefined) merged.cpus = override.cpus;
      if (override.memoryGb === null) delete merged.memoryMb;
      else if (override.memoryGb !== undefined) merged.memoryMb = gbToMb(override.memoryGb);
      if (override.maxTime === null) delete merged.maxTimeSeconds;
      else if (override.maxTime !== undefined) {
        const seconds = timeSeconds(override.maxTime);
        if (seconds === undefined) delete merged.maxTimeSeconds;
        else merged.maxTimeSeconds = seconds;
      }
      return [user, merged];
    }),
  );
  const resolved: UserLimits = { default: base, users };
  if (limits.allowedUsers !== undefined) resolved.allowedUsers = [...limits.allowedUsers];
  const defaultTime = timeSeconds(limits.defaultTime);
  if (defaultTime !== undefined) resolved.defaultTimeSeconds = defaultTime;
  if (limits.killWaitSeconds !== undefined) resolved.killWaitSeconds = limits.killWaitSeconds;
  return resolved;
}

function resolveBookingRules(bookings: NonNullable<HostConfig['bookings']>): BookingRules {
  const base = DEFAULT_BOOKING_RULES;
  const allowance = (entry: typeof bookings, fallback: BookingAllowance): BookingAllowance => ({
    maxAheadDays: entry.maxAheadDays ?? fallback.maxAheadDays,
    maxHours: entry.maxHours ?? fallback.maxHours,
    maxActivePerUser: entry.maxActivePerUser ?? fallback.maxActivePerUser,
  });
  const host = allowance(bookings, base);
  return {
    ...host,
    alignMinutes: bookings.alignMinutes ?? base.alignMinutes,
    overrunMinutes: bookings.overrunMinutes ?? base.overrunMinutes,
    idleReleaseMinutes: bookings.idleReleaseMinutes ?? base.idleReleaseMinutes,
    users: Object.fromEntries(
      Object.entries(bookings.users ?? {}).map(([user, entry]) => [user, allowance(entry, host)]),
    ),
  };
}

/** Seconds of a validated time text; undefined for none or "unlimited". */
function timeSeconds(text: string | undefined): number | undefined {
  const limit = text === undefined ? undefined : parseTimeLimit(text);
  return typeof limit === 'number' ? limit : undefined;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

// ---------------------------------------------------------------------------------------------
// Lookups and text for people.

/** The limit that applies to `user`: their own entry if they have one, else the default. */
export function limitFor(limits: UserLimits, user: string): ResourceLimit {
  return Object.hasOwn(limits.users, user)
    ? (limits.users[user] ?? limits.default)
    : limits.default;
}

export function isUserAllowed(limits: UserLimits, user: string): boolean {
  return limits.allowedUsers === undefined || limits.allowedUsers.includes(user);
}

/** "4 GPUs, 32 CPUs, 128 GB memory" or "no limit"; absent fields read "any number of ...". */
export function formatLimit(limit: ResourceLimit): string {
  const parts: string[] = [];
  if (limit.gpus !== undefined) parts.push(plural(limit.gpus, 'GPU'));
  if (limit.cpus !== undefined) parts.push(plural(limit.cpus, 'CPU'));
  if (limit.memoryMb !== undefined) parts.push(`${formatMemory(limit.memoryMb)} memory`);
  const held = parts.length === 0 ? undefined : `at most ${parts.join(', ')} at once`;
  const time =
    limit.maxTimeSeconds === undefined
      ? undefined
      : `jobs of at most ${formatSeconds(limit.maxTimeSeconds)}`;
  const all = [held, time].filter((part) => part !== undefined);
  return all.length === 0 ? 'no limit' : all.join('; ');
}

/** Lines describing the capacity, for `rp host show` and `rp host init`. */
export function formatCapacity(capacity: HostCapacity): string[] {
  const lines = [`GPUs:   ${capacity.gpus.length === 0 ? 'none' : capacity.gpus.length}`];
  for (const gpu of capacity.gpus) {
    const details = [
      gpu.name,
      gpu.memoryMb === undefined ? undefined : formatMemory(gpu.memoryMb),
      gpu.uuid,
    ]
      .filter((part): part is string => part !== undefined && part !== '')
      .join(', ');
    lines.push(`  ${gpu.index}${details === '' ? '' : `: ${details}`}`);
  }
  lines.push(`CPUs:   ${plural(capacity.cpus.length, 'core')} (${formatIdRanges(capacity.cpus)})`);
  lines.push(`Memory: ${formatMemory(capacity.memoryMb)} for jobs`);
  return lines;
}

/** Lines describing the per-user limits and who may use rp. */
export function formatLimits(limits: UserLimits): string[] {
  const lines = [`Per-user limit: ${formatLimit(limits.default)}`];
  for (const [user, limit] of Object.entries(limits.users)) {
    lines.push(`  ${user}: ${formatLimit(limit)}`);
  }
  lines.push(
    `Allowed users: ${limits.allowedUsers === undefined ? 'everyone' : limits.allowedUsers.join(', ') || 'nobody'}`,
  );
  const defaultTime = limits.defaultTimeSeconds;
  lines.push(
    `Time limit of jobs that give none: ${defaultTime === undefined ? "the user's maximum, else unlimited" : formatSeconds(defaultTime)}`,
  );
  lines.push(
    `At a time limit: SIGTERM, then SIGKILL ${limits.killWaitSeconds ?? DEFAULT_KILL_WAIT_SECONDS}s later`,
  );
  // Said only when the config sets it, so the usual listing stays as short as it was.
  if (limits.unmanagedGpus !== undefined) {
    lines.push(
      `GPUs busy outside rp: ${
        limits.unmanagedGpus === 'avoid'
          ? 'not granted until free (gpus.unmanaged: "avoid")'
          : 'granted as if free (gpus.unmanaged: "ignore")'
      }`,
    );
  }
  return lines;
}
