/**
 * The labels rp puts on what it creates in Docker, so the ledger can always be checked against,
 * and rebuilt from, what Docker reports.
 */
import type { Grant, JobEntry, JobKind } from '../core/ledger-state.js';

export const IMAGE_LABELS = {
  repository: 'rp.repository',
  project: 'rp.project',
  projectPath: 'rp.project-path',
  user: 'rp.user',
  contentHash: 'rp.content-hash',
} as const;

export const JOB_LABELS = {
  /** The host directory whose ledger the job belongs to: several queues may share one engine. */
  home: 'rp.home',
  job: 'rp.job',
  seq: 'rp.seq',
  user: 'rp.user',
  uid: 'rp.uid',
  project: 'rp.project',
  projectPath: 'rp.project-path',
  kind: 'rp.kind',
  command: 'rp.command',
  gpus: 'rp.gpus',
  cpus: 'rp.cpus',
  memoryMb: 'rp.memory-mb',
  request: 'rp.request',
  submittedAt: 'rp.submitted-at',
  supervisor: 'rp.supervisor',
  /** A detached job's launch file, so a ledger rebuilt from Docker still knows it is detached. */
  detached: 'rp.detached',
  /** A limited job's limit in seconds, and the warning signal as NAME@SECONDS. */
  timeLimit: 'rp.time-limit',
  timeSignal: 'rp.time-signal',
  /** When its time is up (ISO): whoever finds it overdue stops it. */
  deadline: 'rp.deadline',
} as const;

export function jobLabels(
  job: JobEntry,
  grant: Grant,
  rpHome: string,
  deadline?: Date,
): Record<string, string> {
  const signal = job.timeLimit?.signal;
  return {
    [JOB_LABELS.home]: rpHome,
    [JOB_LABELS.job]: job.id,
    [JOB_LABELS.seq]: String(job.seq),
    [JOB_LABELS.user]: job.user,
    [JOB_LABELS.uid]: String(job.uid),
    [JOB_LABELS.project]: job.project.name,
    [JOB_LABELS.projectPath]: job.project.path,
    [JOB_LABELS.kind]: job.kind,
    [JOB_LABELS.command]: job.command,
    [JOB_LABELS.gpus]: grant.gpus.join(','),
    [JOB_LABELS.cpus]: grant.cpus.join(','),
    [JOB_LABELS.memoryMb]: String(grant.memoryMb),
    [JOB_LABELS.request]: `${job.request.gpus},${job.request.cpus},${job.request.memoryMb}`,
    [JOB_LABELS.submittedAt]: job.submittedAt,
    [JOB_LABELS.supervisor]: `${job.supervisor.pid}:${job.supervisor.startTime}`,
    ...(job.detached ? { [JOB_LABELS.detached]: job.detached.launch } : {}),
    ...(job.timeLimit ? { [JOB_LABELS.timeLimit]: String(job.timeLimit.seconds) } : {}),
    ...(signal ? { [JOB_LABELS.timeSignal]: `${signal.name}@${signal.before}` } : {}),
    ...(deadline ? { [JOB_LABELS.deadline]: deadline.toISOString() } : {}),
  };
}

/** The time limit and deadline written by jobLabels, read back; empty when there are none. */
function timeFromLabels(labels: Record<string, string>): Pick<JobEntry, 'timeLimit' | 'deadline'> {
  const deadline = labels[JOB_LABELS.deadline];
  const valid = deadline !== undefined && !Number.isNaN(Date.parse(deadline));
  const seconds = Number(labels[JOB_LABELS.timeLimit]);
  // A job granted in a booking may have a deadline and no limit of its own.
  if (!Number.isInteger(seconds) || seconds <= 0) return valid ? { deadline } : {};
  const [name, before] = (labels[JOB_LABELS.timeSignal] ?? '').split('@');
  const lead = Number(before);
  const signal =
    name !== undefined && /^SIG[A-Z0-9]+$/.test(name) && Number.isInteger(lead) && lead >= 0
      ? { signal: { name, before: lead } }
      : {};
  return { timeLimit: { seconds, ...signal }, ...(valid ? { deadline } : {}) };
}

/**
 * The job a container belongs to, from its rp.job and rp.seq labels; undefined without rp.job.
 * `seq` is undefined when its label is missing or not a whole number.
 */
export function jobKeyFromLabels(
  labels: Record<string, string>,
): { id: string; seq: number | undefined } | undefined {
  const id = labels[JOB_LABELS.job];
  if (!id) return undefined;
  const seq = Number(labels[JOB_LABELS.seq] ?? Number.NaN);
  return { id, seq: Number.isInteger(seq) ? seq : undefined };
}

function ids(text: string | undefined): number[] {
  if (!text) return [];
  return text.split(',').map(Number).filter(Number.isInteger);
}

/**
 * The ledger entry of a running job, read back from its container's labels; undefined when the
 * labels are not rp's or are incomplete.
 */
export function jobFromLabels(
  labels: Record<string, string>,
  container: { id: string; name: string; startedAt?: string },
): JobEntry | undefined {
  const id = labels[JOB_LABELS.job];
  const user = labels[JOB_LABELS.user];
  const projectPath = labels[JOB_LABELS.projectPath];
  if (!id || !user || !projectPath) return undefined;
  const [gpus = 0, cpus = 0, memoryMb = 0] = ids(labels[JOB_LABELS.request]);
  const [pid = '0', startTime = '0'] = (labels[JOB_LABELS.supervisor] ?? '').split(':');
  const kind: JobKind = labels[JOB_LABELS.kind] === 'enter' ? 'enter' : 'run';
  const launch = labels[JOB_LABELS.detached];
  return {
    id,
    seq: Number(labels[JOB_LABELS.seq] ?? 0) || 0,
    user,
    uid: Number(labels[JOB_LABELS.uid] ?? -1),
    project: { path: projectPath, name: labels[JOB_LABELS.project] ?? '' },
    kind,
    command: labels[JOB_LABELS.command] ?? '',
    request: { gpus, cpus, memoryMb },
    state: 'running',
    grant: {
      gpus: ids(labels[JOB_LABELS.gpus]),
      cpus: ids(labels[JOB_LABELS.cpus]),
      memoryMb: Number(labels[JOB_LABELS.memoryMb] ?? 0) || 0,
    },
    submittedAt: labels[JOB_LABELS.submittedAt] ?? new Date(0).toISOString(),
    startedAt: container.startedAt,
    supervisor: { pid: Number(pid) || 0, startTime },
    container: { id: container.id, name: container.name },
    ...(launch ? { detached: { launch } } : {}),
    ...timeFromLabels(labels),
  };
}
