/**
 * `rp doctor`'s judgements: facts about the installation in (gathered by
 * src/services/doctor.ts), one check out for each: ok, warn or fail, what was found, and what to
 * do. Pure, so every verdict and hint is tested without breaking a machine.
 */
import type { LedgerParse } from './ledger-schema.js';
import type { JobEntry } from './ledger-state.js';
import { jobLabel } from './ledger-state.js';
import { formatMemory } from './units.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** Stable, for scripts: "docker", "gpu-container", "home", "ledger", ... */
  id: string;
  status: CheckStatus;
  /** What was found, for people. */
  detail: string;
  /** What to do; absent when all is well. */
  hint?: string;
}

/** `rp doctor` exits 0 only when nothing fails; warnings alone keep it 0. */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  return checks.some((check) => check.status === 'fail') ? 3 : 0;
}

const ok = (id: string, detail: string): DoctorCheck => ({ id, status: 'ok', detail });
const warn = (id: string, detail: string, hint: string): DoctorCheck => ({
  id,
  status: 'warn',
  detail,
  hint,
});
const fail = (id: string, detail: string, hint: string): DoctorCheck => ({
  id,
  status: 'fail',
  detail,
  hint,
});

// ---------------------------------------------------------------------------------------------

export interface EngineFacts {
  endpoint: string;
  version?: string;
  operatingSystem?: string;
  id?: string;
}

export function judgeDocker(
  engine: EngineFacts | { error: string; endpoint: string },
): DoctorCheck {
  if ('error' in engine) {
    return fail(
      'docker',
      `the Docker engine at ${engine.endpoint} does not answer: ${engine.error}`,
      'start it ("sudo systemctl start docker", or "sudo dockerd" without systemd), or point DOCKER_HOST at the engine rp should use',
    );
  }
  const what = [
    engine.version === undefined ? 'Docker' : `Docker ${engine.version}`,
    engine.operatingSystem === undefined ? undefined : `on ${engine.operatingSystem}`,
    `at ${engine.endpoint}`,
    engine.id === undefined || engine.id === '' ? undefined : `(engine ${engine.id.slice(0, 14)})`,
  ].filter((part) => part !== undefined);
  return ok('docker', what.join(' '));
}

export interface GpuContainerFacts {
  /** GPUs rp lends on this host. */
  gpus: number;
  /** Absent when Docker did not answer (the docker check says why). */
  probe?: { image: string | undefined; exitCode: number; output: string };
  runtimes?: string[];
}

export function judgeGpuContainer(facts: GpuContainerFacts): DoctorCheck {
  if (facts.gpus === 0) return ok('gpu-container', 'no GPUs on this host: nothing to check');
  const probe = facts.probe;
  if (probe === undefined) {
    return fail(
      'gpu-container',
      'could not run a test container: Docker does not answer',
      'fix the docker check first',
    );
  }
  if (probe.image === undefined) {
    return warn(
      'gpu-container',
      'no image built by rp yet to run a GPU test container in',
      'run "rp build" in a project, then "rp doctor" again',
    );
  }
  const listed = probe.output.split('\n').filter((line) => /^GPU \d+:/.test(line.trim()));
  if (probe.exitCode === 0 && listed.length > 0) {
    return ok('gpu-container', `a test container in ${probe.image} sees ${listed.length} GPU(s)`);
  }
  const runtime =
    facts.runtimes !== undefined && !facts.runtimes.includes('nvidia')
      ? ` (Docker knows the runtimes ${facts.runtimes.join(', ')}; no nvidia)`
      : '';
  return fail(
    'gpu-container',
    `a test container given every GPU did not see one (exit ${probe.exitCode}): ${firstLine(probe.output)}${runtime}`,
    'install the NVIDIA Container Toolkit ("nvidia-ctk runtime configure --runtime=docker", then restart dockerd), and check "docker run --rm --gpus all IMAGE nvidia-smi"',
  );
}

// ---------------------------------------------------------------------------------------------

export interface PathFacts {
  path: string;
  exists: boolean;
  uid?: number;
  gid?: number;
  /** Permission bits with setgid etc. (mode & 0o7777). */
  mode?: number;
}

export interface HomeFacts {
  home: PathFacts;
  config: PathFacts;
  queue: PathFacts;
  /** The files rp shares in the queue folder (ledger, inventory, history, ...). */
  shared: PathFacts[];
  /** The group the queue is shared with (docker), when the host has one. */
  group?: { name: string; gid: number };
  initCommand: string;
}

/** $RP_HOME ownership and modes, as `rp host init` sets them. */
export function judgeHome(facts: HomeFacts): DoctorCheck {
  const problems: string[] = [];
  const worries: string[] = [];
  const octal = (mode: number | undefined): string => (mode ?? 0).toString(8).padStart(4, '0');
  const { home, config, queue } = facts;
  if (!home.exists) {
    return fail('home', `${home.path} does not exist`, `run "${facts.initCommand}"`);
  }
  const homeMode = home.mode ?? 0;
  if ((homeMode & 0o005) !== 0o005) {
    problems.push(`${home.path} is mode ${octal(homeMode)}: other users cannot enter it`);
  }
  if ((homeMode & 0o022) !== 0) {
    problems.push(
      `${home.path} is mode ${octal(homeMode)}: others may replace the admin's config.json`,
    );
  }
  if (home.uid !== 0) worries.push(`${home.path} belongs to uid ${home.uid}, not root`);
  if (!config.exists) problems.push(`${config.path} does not exist`);
  else {
    const mode = config.mode ?? 0;
    if ((mode & 0o004) === 0) {
      problems.push(`${config.path} is mode ${octal(mode)}: users cannot read it`);
    }
    if ((mode & 0o022) !== 0) {
      problems.push(`${config.path} is mode ${octal(mode)}: others may change the limits`);
    }
  }
  if (!queue.exists) problems.push(`${queue.path} does not exist`);
  else {
    const mode = queue.mode ?? 0;
    if ((mode & 0o070) !== 0o070) {
      problems.push(`${queue.path} is mode ${octal(mode)}: the group cannot queue jobs`);
    }
    if ((mode & 0o2000) === 0) {
      worries.push(`${queue.path} is not setgid: new files may not be the group's`);
    }
    if (facts.group !== undefined && queue.gid !== facts.group.gid) {
      problems.push(`${queue.path} is not group ${facts.group.name}'s (gid ${queue.gid})`);
    }
  }
  for (const file of facts.shared.filter((entry) => entry.exists)) {
    if (((file.mode ?? 0) & 0o060) !== 0o060) {
      problems.push(`${file.path} is mode ${octal(file.mode)}: the group cannot write it`);
    }
  }
  if (problems.length > 0) {
    return fail('home', [...problems, ...worries].join('; '), `run "${facts.initCommand}"`);
  }
  if (worries.length > 0) return warn('home', worries.join('; '), `run "${facts.initCommand}"`);
  return ok(
    'home',
    `${home.path} ${octal(home.mode)}, queue ${octal(queue.mode)}${facts.group ? ` (group ${facts.group.name})` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------

export function judgeLedger(
  path: string,
  read: { parse: LedgerParse } | { missing: true } | { error: string },
): DoctorCheck {
  if ('missing' in read) return ok('ledger', `${path} not written yet (no job has run)`);
  if ('error' in read) {
    return fail(
      'ledger',
      `cannot read ${path}: ${read.error}`,
      'check the modes of the queue folder (see the home check)',
    );
  }
  const { parse } = read;
  if (parse.kind === 'future') {
    return fail(
      'ledger',
      `${path} was written by a newer rp (ledger version ${parse.version})`,
      'install that rp version for every user of this host',
    );
  }
  if (parse.kind === 'corrupt') {
    return fail(
      'ledger',
      `${path} is ${parse.reason}`,
      'the next rp command moves it aside (ledger.json.corrupt-<time>) and rebuilds it from the containers Docker runs; "rp ps" does it now',
    );
  }
  const jobs = parse.state.jobs.length;
  return ok('ledger', `${path} is valid: ${jobs} live job${jobs === 1 ? '' : 's'}`);
}

export function judgeLock(
  path: string,
  lock: { ageMs: number } | undefined,
  staleMs: number,
): DoctorCheck {
  if (lock === undefined) return ok('lock', 'the ledger is not locked');
  if (lock.ageMs <= staleMs) return ok('lock', 'the ledger is locked by a live transaction');
  return fail(
    'lock',
    `${path} was left ${Math.round(lock.ageMs / 1000)} s ago by a process that died holding it`,
    `the next rp command takes it over after ${staleMs / 1000} s; "rp ps" does it now, or remove it: "rmdir ${path}"`,
  );
}

// ---------------------------------------------------------------------------------------------

export interface LabelledContainer {
  id: string;
  name: string;
  state: string;
  job: { id: string; seq: number | undefined };
}

/**
 * Containers labelled for this queue that no live job of the ledger owns, and running jobs of the
 * ledger whose container Docker does not have.
 */
export function judgeContainers(
  jobs: readonly JobEntry[] | undefined,
  containers: readonly LabelledContainer[] | undefined,
): DoctorCheck {
  if (jobs === undefined || containers === undefined) {
    return warn(
      'containers',
      'not compared: the ledger or Docker could not be read',
      'fix the ledger and docker checks first',
    );
  }
  const orphans = containers.filter(
    (container) =>
      !jobs.some(
        (job) =>
          job.id === container.job.id &&
          (container.job.seq === undefined || job.seq === container.job.seq),
      ),
  );
  const ids = new Set(containers.map((container) => container.id));
  const missing = jobs.filter(
    (job) =>
      job.state === 'running' &&
      job.container !== undefined &&
      ![...ids].some((id) => id.startsWith(job.container?.id ?? '-')),
  );
  const problems = [
    ...orphans.map(
      (container) =>
        `container ${container.name} (${container.state}) of job ${container.job.id} is not in the ledger`,
    ),
    ...missing.map((job) => `job ${jobLabel(job)} is running in the ledger but has no container`),
  ];
  if (problems.length === 0) {
    return ok('containers', `${containers.length} job container(s), all in the ledger`);
  }
  const hints = [
    orphans.length === 0
      ? undefined
      : `remove what no job owns: "docker rm -f ${orphans.map((c) => c.name).join(' ')}"`,
    missing.length === 0 ? undefined : '"rp ps" removes the entries of jobs that are gone',
  ].filter((hint) => hint !== undefined);
  return fail('containers', problems.join('; '), hints.join('; '));
}

// ---------------------------------------------------------------------------------------------

export interface ClockFacts {
  /** This process's clock minus the file system's (a file just written), ms. */
  fileSystemSkewMs?: number;
  /** This process's clock minus the Docker engine's, ms. */
  engineSkewMs?: number;
  /** Ledger times later than now: a clock that went backwards. */
  futureTimes: number;
}

/** Up to this much difference is a round trip, not a wrong clock. */
export const CLOCK_TOLERANCE_MS = 5_000;

export function judgeClock(facts: ClockFacts): DoctorCheck {
  const problems: string[] = [];
  const skew = (what: string, ms: number | undefined): void => {
    if (ms !== undefined && Math.abs(ms) > CLOCK_TOLERANCE_MS) {
      problems.push(`this machine's clock is ${Math.round(ms / 1000)} s off ${what}`);
    }
  };
  skew("the file system's (mtime of a file just written)", facts.fileSystemSkewMs);
  skew("the Docker engine's", facts.engineSkewMs);
  if (facts.futureTimes > 0) {
    problems.push(`${facts.futureTimes} time(s) in the ledger lie in the future`);
  }
  if (problems.length === 0) return ok('clock', 'the clocks agree');
  return warn(
    'clock',
    problems.join('; '),
    'time limits, bookings and the queue order need one clock: enable NTP ("timedatectl set-ntp true")',
  );
}

// ---------------------------------------------------------------------------------------------

export interface DiskFacts {
  what: string;
  path: string;
  freeMb: number;
  totalMb: number;
}

/** Below these, a build or a log write fails soon. */
export const DISK_FAIL_MB = 1024;
export const DISK_WARN_MB = 10 * 1024;

export function judgeDisk(disks: readonly DiskFacts[]): DoctorCheck {
  const text = (disk: DiskFacts): string =>
    `${disk.what} ${disk.path}: ${formatMemory(disk.freeMb)} free of ${formatMemory(disk.totalMb)}`;
  const low = disks.filter((disk) => disk.freeMb < DISK_FAIL_MB);
  if (low.length > 0) {
    return fail(
      'disk',
      low.map(text).join('; '),
      'free space: "docker image prune" and "docker builder prune" remove unused images and build cache',
    );
  }
  const tight = disks.filter(
    (disk) => disk.freeMb < DISK_WARN_MB || disk.freeMb < disk.totalMb * 0.05,
  );
  if (tight.length > 0) {
    return warn(
      'disk',
      tight.map(text).join('; '),
      '"docker image prune" and "docker builder prune" remove unused images and build cache',
    );
  }
  return ok('disk', disks.map(text).join('; '));
}

// ---------------------------------------------------------------------------------------------

export interface InventoryFacts {
  stored?: { gpus: string[]; cpuCount: number; memoryTotalMb: number; detectedAt: string };
  detected: { gpus: string[] | undefined; cpuCount: number; memoryTotalMb: number };
  refreshCommand: string;
}

/** The stored inventory against what is detected now (GPUs by uuid or index). */
export function judgeInventory(facts: InventoryFacts): DoctorCheck {
  const { stored, detected } = facts;
  if (stored === undefined) {
    return fail('inventory', 'no stored inventory', `run "${facts.refreshCommand}"`);
  }
  const problems: string[] = [];
  if (detected.gpus !== undefined) {
    const gone = stored.gpus.filter((gpu) => !detected.gpus?.includes(gpu));
    const added = detected.gpus.filter((gpu) => !stored.gpus.includes(gpu));
    if (gone.length > 0) problems.push(`stored GPU(s) not detected now: ${gone.join(', ')}`);
    if (added.length > 0) problems.push(`GPU(s) detected but not stored: ${added.join(', ')}`);
  }
  if (stored.cpuCount !== detected.cpuCount) {
    problems.push(`${stored.cpuCount} cores stored, ${detected.cpuCount} now`);
  }
  // Memory is stored in MiB as the kernel reports it; a few MiB move with firmware reservations.
  if (Math.abs(stored.memoryTotalMb - detected.memoryTotalMb) > 256) {
    problems.push(
      `${formatMemory(stored.memoryTotalMb)} memory stored, ${formatMemory(detected.memoryTotalMb)} now`,
    );
  }
  const gpuNote =
    detected.gpus === undefined ? ' (nvidia-smi did not answer: GPUs not compared)' : '';
  if (problems.length > 0) {
    return warn(
      'inventory',
      `${problems.join('; ')} (stored ${stored.detectedAt})`,
      `if the machine really changed, run "${facts.refreshCommand}"`,
    );
  }
  return ok(
    'inventory',
    `stored inventory matches this machine: ${stored.gpus.length} GPU(s), ${stored.cpuCount} cores, ${formatMemory(stored.memoryTotalMb)}${gpuNote}`,
  );
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
