/**
 * `rp ps` and `rp queue`: what the host lends, what is in use, which jobs run and which wait, as
 * plain view data. The builders are pure (the ledger, the policy and `now` are passed in, so unit
 * tests use a fixed clock); the one async entry point reaps dead entries first, then reads.
 *
 * Every field is machine-friendly (ids as arrays, memory in MiB, ISO times, durations in ms): the
 * same data is printed as JSON by `--json` and turned into tables for people by src/ui/tables.ts.
 */
import type { BackendName } from '../core/backend-config.js';
import type { HostCapacity } from '../core/host-config.js';
import {
  unmanagedProcesses,
  type GpuObservation,
  type GpuStats,
  type UnmanagedProcess,
} from '../core/gpu-processes.js';
import {
  jobLabel,
  listedProject,
  type JobEntry,
  type JobKind,
  type JobState,
  type LedgerState,
} from '../core/ledger-state.js';
import { formatIdRanges } from '../core/units.js';
import { schedulerPolicyOf, type HostPolicy } from '../core/queue-transitions.js';
import { describeQueue, type QueueStatus } from '../core/scheduler.js';
import type { LedgerStore } from '../ledger/store.js';
import type { HostSession } from './host-session.js';
import { OBSERVE_EVERY_MS } from './gpu-observation.js';
import { reapQuietly } from './reap-quietly.js';

/** Resources as ids and an amount: the machine's, or the part of it jobs hold. */
export interface ResourceView {
  /** GPU indices, sorted. */
  gpus: number[];
  /** Core ids, sorted. */
  cpus: number[];
  memoryMb: number;
}

/** What every listing says about a job. */
export interface JobIdentityView {
  /**
   * As users type it: "1234"; "1234_7" for task 7 of array 1234; "1234_[0-5,7]" for the tasks
   * of an array shown on one line.
   */
  id: string;
  /** The listings' name: "rp1234", "rp1234_7", "rp1234_[0-5,7]". */
  name: string;
  /** Tasks of an array: the array's id, and the task indices this line stands for. */
  array?: { id: string; tasks: number[] };
  user: string;
  project: string;
  projectPath: string;
  /** A drop-folder job's activity and input file; null for any other job. */
  activity: { name: string; input: string } | null;
  kind: JobKind;
  command: string;
  /** Where it runs: always this machine ('local'); a cluster's jobs are listed apart. */
  backend: BackendName;
}

/** A job that holds resources: running, or granted and about to start its container. */
export interface RunningJobView extends JobIdentityView {
  state: Exclude<JobState, 'queued'>;
  gpus: number[];
  cpus: number[];
  memoryMb: number;
  submittedAt: string;
  grantedAt: string | null;
  startedAt: string | null;
  /** Since it started (or, while it is only granted, since the grant); never negative. */
  runningMs: number;
  /** Its time limit (`--time`); null without one. For tasks on one line: the longest. */
  timeLimitSeconds: number | null;
  /** When its time is up (ISO); null without a limit, or before it starts. */
  deadline: string | null;
  /** Until the deadline, never negative; null without one. For tasks on one line: the most. */
  leftMs: number | null;
}

/** A queued job, in the order the scheduler serves them. */
export interface QueuedJobView extends JobIdentityView {
  /** 1 is served first. */
  position: number;
  request: { gpus: number; cpus: number; memoryMb: number };
  status: QueueStatus;
  /** For people, from the scheduler: "4 CPUs (0 free)", "user limit: ...". */
  waitingFor: string;
  submittedAt: string;
  /** Since it was submitted; never negative. */
  waitingMs: number;
  /** The time limit it will run with; null without one. */
  timeLimitSeconds: number | null;
}

/** One GPU of the host: who holds it in rp, and who uses it outside rp. */
export interface GpuView {
  index: number;
  name: string | null;
  uuid: string | null;
  /** The rp job holding it ("1234", "1234_7") and its user; null when no job does. */
  job: string | null;
  user: string | null;
  /** Processes rp did not start that use it: `unmanaged: <user> (pid, memory)`. */
  unmanaged: Array<Omit<UnmanagedProcess, 'gpu'>>;
  /** From nvidia-smi when present (`rp top`); null when not asked or not reported. */
  utilizationPercent: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
}

/** The last look at the GPUs' processes: when, and whether nvidia-smi answered. */
export interface GpuLookView {
  observedAt: string;
  kind: GpuObservation['kind'];
  reason: string | null;
}

/** `rp ps`. */
export interface HostStatus {
  capacity: ResourceView;
  used: ResourceView;
  /** Every GPU of the host, in index order (empty on a host without GPUs). */
  gpus: GpuView[];
  /** The look at the GPUs' processes the `unmanaged` lists come from; null when none. */
  gpuLook: GpuLookView | null;
  running: RunningJobView[];
  queue: QueuedJobView[];
}

/** `rp queue`. */
export interface QueueView {
  queue: QueuedJobView[];
}

/** What the status services need of a host session (a HostSession fits). */
export interface StatusSession {
  store: Pick<LedgerStore, 'read'>;
  policy: () => Promise<HostPolicy>;
  reap: HostSession['reap'];
  /** The look at the GPUs' processes; absent: listings use what the policy carries. */
  gpus?: Pick<HostSession['gpus'], 'refresh'>;
}

// ---------------------------------------------------------------------------------------------
// Pure builders

/** Everything `rp ps` shows, from one ledger snapshot. */
export function buildHostStatus(
  state: LedgerState,
  policy: HostPolicy,
  now: Date,
  options: ListingOptions = {},
): HostStatus {
  const holders = state.jobs.filter(holdsResources).sort(byStart);
  const running = holders.map((job) => runningView(job, now));
  const look = policy.gpuObservation;
  return {
    capacity: capacityView(policy.capacity),
    used: usedView(holders),
    gpus: buildGpuViews(state, policy.capacity, look, options.gpuStats ?? []),
    gpuLook:
      look === undefined
        ? null
        : { observedAt: look.observedAt, kind: look.kind, reason: look.reason ?? null },
    running: options.expand ? running : groupTasks(running, mergeRunning),
    queue: buildQueue(state, policy, now, options),
  };
}

export interface ListingOptions {
  /** One line per task of an array, instead of one per array. */
  expand?: boolean;
  /** Utilisation and memory per GPU, when asked of nvidia-smi (`rp top`). */
  gpuStats?: readonly GpuStats[];
}

/** Each GPU with its rp job, the processes outside rp on it, and its figures when known. */
export function buildGpuViews(
  state: LedgerState,
  capacity: HostCapacity,
  observation: GpuObservation | undefined,
  stats: readonly GpuStats[],
): GpuView[] {
  const holder = new Map<number, JobEntry>();
  for (const job of state.jobs.filter(holdsResources)) {
    for (const gpu of job.grant?.gpus ?? []) holder.set(gpu, job);
  }
  const outside = unmanagedProcesses(state, observation);
  return capacity.gpus.map((gpu): GpuView => {
    const job = holder.get(gpu.index);
    const figures = stats.find((entry) =>
      gpu.uuid !== undefined && entry.uuid !== undefined
        ? entry.uuid === gpu.uuid
        : entry.index === gpu.index,
    );
    return {
      index: gpu.index,
      name: gpu.name ?? null,
      uuid: gpu.uuid ?? null,
      job: job === undefined ? null : jobLabel(job),
      user: job?.user ?? null,
      unmanaged: outside
        .filter((process) => process.gpu === gpu.index)
        .map(({ gpu: _gpu, ...process }) => process),
      utilizationPercent: figures?.utilizationPercent ?? null,
      memoryUsedMb: figures?.memoryUsedMb ?? null,
      memoryTotalMb: figures?.memoryTotalMb ?? gpu.memoryMb ?? null,
    };
  });
}

/** The queued jobs in the scheduler's order, with what each waits for. */
export function buildQueue(
  state: LedgerState,
  policy: HostPolicy,
  now: Date,
  options: ListingOptions = {},
): QueuedJobView[] {
  const bySeq = new Map(state.jobs.map((job) => [job.seq, job]));
  const views: QueuedJobView[] = [];
  const rules = schedulerPolicyOf(state, policy);
  for (const entry of describeQueue(state, policy.capacity, policy.limits, now, rules)) {
    const job = bySeq.get(entry.seq);
    // describeQueue only describes jobs of this state, so every entry has its job.
    if (job === undefined) continue;
    views.push({
      position: entry.position,
      ...identity(job),
      request: { ...job.request },
      status: entry.status,
      waitingFor: entry.waitingFor,
      submittedAt: job.submittedAt,
      waitingMs: elapsedMs(job.submittedAt, now),
      timeLimitSeconds: job.timeLimit?.seconds ?? null,
    });
  }
  return options.expand ? views : groupTasks(views, mergeQueued);
}

/** Jobs that hold a grant: what is in use. A queued job holds nothing, whatever it asks for. */
function holdsResources(job: JobEntry): job is JobEntry & { state: 'granted' | 'running' } {
  return job.state !== 'queued';
}

function runningView(job: JobEntry & { state: 'granted' | 'running' }, now: Date): RunningJobView {
  const grant = job.grant ?? { gpus: [], cpus: [], memoryMb: 0 };
  return {
    ...identity(job),
    state: job.state,
    gpus: sortedIds(grant.gpus),
    cpus: sortedIds(grant.cpus),
    memoryMb: grant.memoryMb,
    submittedAt: job.submittedAt,
    grantedAt: job.grantedAt ?? null,
    startedAt: job.startedAt ?? null,
    runningMs: elapsedMs(runningSince(job), now),
    timeLimitSeconds: job.timeLimit?.seconds ?? null,
    deadline: job.deadline ?? null,
    leftMs: job.deadline === undefined ? null : msUntil(job.deadline, now),
  };
}

function identity(job: JobEntry): JobIdentityView {
  const label = jobLabel(job);
  return {
    id: label,
    name: `rp${label}`,
    ...(job.array === undefined ? {} : { array: { id: job.id, tasks: [job.array.task] } }),
    user: job.user,
    project: listedProject(job),
    projectPath: job.project.path,
    activity: job.activity === undefined ? null : { ...job.activity },
    kind: job.kind,
    command: job.command,
    backend: 'local',
  };
}

/**
 * One line per array: the lines of its tasks merged into the first one's place, named after the
 * tasks it stands for ("1234_[0-5,7]").
 */
function groupTasks<T extends JobIdentityView>(views: readonly T[], merge: (a: T, b: T) => T): T[] {
  const grouped: T[] = [];
  const at = new Map<string, number>();
  for (const view of views) {
    const arrayId = view.array?.id;
    const index = arrayId === undefined ? undefined : at.get(arrayId);
    if (arrayId !== undefined && index === undefined) at.set(arrayId, grouped.length);
    if (index === undefined) {
      grouped.push(view);
      continue;
    }
    grouped[index] = merge(grouped[index] as T, view);
  }
  return grouped.map((view) => (view.array && view.array.tasks.length > 1 ? renamed(view) : view));
}

function renamed<T extends JobIdentityView>(view: T): T {
  const tasks = [...(view.array?.tasks ?? [])].sort((a, b) => a - b);
  const id = `${view.array?.id ?? ''}_[${formatIdRanges(tasks)}]`;
  return { ...view, id, name: `rp${id}`, array: { id: view.array?.id ?? '', tasks } };
}

function withTasks<T extends JobIdentityView>(a: T, b: T): T {
  const tasks = [...(a.array?.tasks ?? []), ...(b.array?.tasks ?? [])];
  return { ...a, array: { id: a.array?.id ?? '', tasks } };
}

/** Tasks that run: what they hold together, for as long as the longest has run. */
function mergeRunning(a: RunningJobView, b: RunningJobView): RunningJobView {
  return {
    ...withTasks(a, b),
    state: a.state === 'running' || b.state === 'running' ? 'running' : 'granted',
    gpus: sortedIds([...a.gpus, ...b.gpus]),
    cpus: sortedIds([...a.cpus, ...b.cpus]),
    memoryMb: a.memoryMb + b.memoryMb,
    runningMs: Math.max(a.runningMs, b.runningMs),
    timeLimitSeconds: largest(a.timeLimitSeconds, b.timeLimitSeconds),
    deadline:
      a.deadline === null || b.deadline === null
        ? (a.deadline ?? b.deadline)
        : a.deadline > b.deadline
          ? a.deadline
          : b.deadline,
    leftMs: largest(a.leftMs, b.leftMs),
  };
}

/** Queued tasks: at the first one's place, with what it waits for (each asks as much). */
function mergeQueued(a: QueuedJobView, b: QueuedJobView): QueuedJobView {
  return { ...withTasks(a, b), waitingMs: Math.max(a.waitingMs, b.waitingMs) };
}

/** The larger of two amounts, either of which may be missing. */
function largest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.max(a, b);
}

function runningSince(job: JobEntry): string {
  return job.startedAt ?? job.grantedAt ?? job.submittedAt;
}

/** Longest-running first; ties (and unreadable times) by submission order. */
function byStart(a: JobEntry, b: JobEntry): number {
  const diff = Date.parse(runningSince(a)) - Date.parse(runningSince(b));
  return Number.isNaN(diff) || diff === 0 ? a.seq - b.seq : diff;
}

function capacityView(capacity: HostCapacity): ResourceView {
  return {
    gpus: sortedIds(capacity.gpus.map((gpu) => gpu.index)),
    cpus: sortedIds(capacity.cpus),
    memoryMb: capacity.memoryMb,
  };
}

function usedView(holders: readonly JobEntry[]): ResourceView {
  const gpus = new Set<number>();
  const cpus = new Set<number>();
  let memoryMb = 0;
  for (const job of holders) {
    job.grant?.gpus.forEach((id) => gpus.add(id));
    job.grant?.cpus.forEach((id) => cpus.add(id));
    memoryMb += job.grant?.memoryMb ?? 0;
  }
  return { gpus: sortedIds([...gpus]), cpus: sortedIds([...cpus]), memoryMb };
}

function sortedIds(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** Milliseconds from `now` to `until`: 0 once past, and for an unreadable time. */
function msUntil(until: string, now: Date): number {
  const end = Date.parse(until);
  return Number.isNaN(end) ? 0 : Math.max(0, end - now.getTime());
}

/**
 * Milliseconds from `since` to `now`. A clock that went backwards (or another host's clock, on a
 * shared file system) gives 0 rather than a negative duration; an unreadable time gives 0 too.
 */
export function elapsedMs(since: string, now: Date): number {
  const start = Date.parse(since);
  if (Number.isNaN(start)) return 0;
  return Math.max(0, now.getTime() - start);
}

// ---------------------------------------------------------------------------------------------
// Services

/**
 * `rp ps`: reaps dead entries, looks at the GPUs' processes when the host has GPUs and the
 * stored look is stale (see gpu-observation.ts), then describes the host.
 */
export async function hostStatus(
  session: StatusSession,
  now: Date,
  options: ListingOptions = {},
): Promise<HostStatus> {
  await reapQuietly(session);
  await session.gpus?.refresh(await session.policy(), now, OBSERVE_EVERY_MS);
  return buildHostStatus(await session.store.read(), await session.policy(), now, options);
}

/** `rp queue`: reaps dead entries, then lists the queue. */
export async function queueStatus(
  session: StatusSession,
  now: Date,
  options: ListingOptions = {},
): Promise<QueueView> {
  await reapQuietly(session);
  return { queue: buildQueue(await session.store.read(), await session.policy(), now, options) };
}
