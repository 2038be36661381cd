/**
 * A Backend held in memory, for unit tests of everything above the interface (backend-run.ts,
 * backend-jobs.ts): each job follows a timeline of states, one step per poll, each step appending
 * its output to the job's log. cancel() makes the next poll find it cancelled.
 */
import type {
  Backend,
  BackendJob,
  BackendJobState,
  CancelOutcome,
  JobPhase,
  SubmitRequest,
} from '../../src/services/backend.js';
import type { PreparedJob } from '../../src/services/job-submission.js';

export interface FakeStep {
  phase: JobPhase;
  reason?: string;
  exitCode?: number;
  /** Appended to the job's log when the step is reached. */
  output?: string;
  /** For an array: the task this step is for (other tasks keep their own last step). */
  task?: number;
}

interface FakeJob {
  job: BackendJob;
  timeline: FakeStep[];
  /** Each task's (or the job's, under -1) current state. */
  current: Map<number, BackendJobState>;
  logs: Map<number, Buffer>;
}

export class FakeBackend implements Backend {
  readonly name = 'slurm' as const;
  readonly jobs = new Map<string, FakeJob>();
  readonly cancels: Array<{ id: string; task?: number; graceSeconds?: number }> = [];
  readonly polls: string[][] = [];
  /** The timeline the next submitted job follows. */
  nextTimeline: FakeStep[] = [{ phase: 'queued' }, { phase: 'completed', exitCode: 0 }];
  private nextId = 1000;

  describe() {
    return { name: 'slurm' as const, reachedVia: 'memory', lines: ['backend: fake'] };
  }

  async submit(request: SubmitRequest): Promise<BackendJob> {
    this.nextId += 1;
    const id = String(this.nextId);
    const job: BackendJob = {
      id,
      backend: 'slurm',
      backendJobId: String(this.nextId - 1000),
      user: request.user.name,
      project: { name: request.prepared.project.info.name, path: request.prepared.project.root },
      command: request.prepared.commandLine,
      request: request.prepared.request,
      submittedAt: '2026-12-02T10:00:00.000Z',
      ...(request.array ? { tasks: [...request.array.indices] } : {}),
    };
    this.add(job, this.nextTimeline);
    return job;
  }

  /** A job the backend already holds (a listing's), following `timeline`. */
  add(job: BackendJob, timeline: readonly FakeStep[]): void {
    const current = new Map<number, BackendJobState>();
    for (const task of job.tasks ?? [-1]) {
      current.set(task, { id: job.id, ...(task >= 0 ? { task } : {}), phase: 'queued' });
    }
    this.jobs.set(job.id, { job, timeline: [...timeline], current, logs: new Map() });
  }

  async list(): Promise<BackendJob[]> {
    return [...this.jobs.values()].map((entry) => entry.job);
  }

  async find(id: string): Promise<BackendJob | undefined> {
    return this.jobs.get(id)?.job;
  }

  async poll(jobs: readonly BackendJob[]): Promise<BackendJobState[]> {
    this.polls.push(jobs.map((job) => job.id));
    const states: BackendJobState[] = [];
    for (const { id } of jobs) {
      const entry = this.jobs.get(id);
      if (entry === undefined) continue;
      const step = entry.timeline.shift();
      if (step !== undefined) {
        const tasks = step.task === undefined ? [...entry.current.keys()] : [step.task];
        for (const task of tasks) {
          entry.current.set(task, {
            id,
            ...(task >= 0 ? { task } : {}),
            phase: step.phase,
            ...(step.reason === undefined ? {} : { reason: step.reason }),
            ...(step.exitCode === undefined ? {} : { exitCode: step.exitCode }),
            ...(step.phase === 'queued' || step.phase === 'running'
              ? {}
              : { endedAt: '2026-12-02T10:05:00.000Z' }),
          });
          if (step.output !== undefined) {
            const log = entry.logs.get(task) ?? Buffer.alloc(0);
            entry.logs.set(task, Buffer.concat([log, Buffer.from(step.output)]));
          }
        }
      }
      states.push(...entry.current.values());
    }
    return states;
  }

  async cancel(
    job: BackendJob,
    options: { task?: number; graceSeconds?: number },
  ): Promise<CancelOutcome> {
    this.cancels.push({
      id: job.id,
      ...(options.task === undefined ? {} : { task: options.task }),
      ...(options.graceSeconds === undefined ? {} : { graceSeconds: options.graceSeconds }),
    });
    const entry = this.jobs.get(job.id);
    if (entry === undefined) return {};
    entry.timeline = [
      {
        phase: 'cancelled',
        exitCode: 143,
        ...(options.task === undefined ? {} : { task: options.task }),
      },
    ];
    return {};
  }

  async readLog(job: BackendJob, offset: number, task?: number) {
    const log = this.jobs.get(job.id)?.logs.get(task ?? -1) ?? Buffer.alloc(0);
    return { data: log.subarray(offset), offset: Math.max(offset, log.length) };
  }
}

/** The parts of a prepared job the fake backend reads. */
export function fakePrepared(commandLine = 'train.sh'): PreparedJob {
  return {
    project: { root: '/home/alice/proj', info: { name: 'proj' } },
    kind: 'run',
    commandLine,
    command: ['./train.sh'],
    request: { gpus: 1, cpus: 2, memoryMb: 1024 },
    shmBytes: 0,
    image: {
      reference: 'rp/alice-proj:0123',
      user: { name: 'alice', uid: 1000, gid: 1000 },
      built: false,
    },
  } as unknown as PreparedJob;
}

/** A Slurm job of alice's as a backend lists it: rp's id, Slurm's `5<id>`. */
export function backendJob(id: string, extra: Partial<BackendJob> = {}): BackendJob {
  return {
    id,
    backend: 'slurm',
    backendJobId: `5${id}`,
    user: 'alice',
    project: { name: 'proj', path: '/home/alice/proj' },
    command: 'train.sh',
    request: { gpus: 1, cpus: 2, memoryMb: 1024 },
    submittedAt: '2026-12-02T10:00:00.000Z',
    ...extra,
  };
}
