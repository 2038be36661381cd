import { randomInt } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import type { JobEntry, ProcessRef } from '../../src/core/ledger-state.js';
import type { ContainerEngine, ContainerRef } from '../../src/docker/engine.js';
import type { JobContainerSpec } from '../../src/docker/job-container.js';
import { isProcessAlive, processRefOf } from '../../src/host/process.js';
import { openLedger } from '../../src/ledger/store.js';
import { makeJob } from '../ledger/fixtures/jobs.js';
import { BASE_IMAGE, docker } from './docker.js';

/**
 * Job containers and supervisors made by hand, the way `rp run` makes them, for tests of what
 * other rp processes do with what a job left behind.
 */

/** A stand-in for a job's `rp run`: a real process, alive until `die`. */
export interface Supervisor {
  ref: ProcessRef;
  die(): Promise<void>;
}

export async function startSupervisor(children: ResultPromise[]): Promise<Supervisor> {
  const child = execa('sleep', ['600'], { reject: false });
  children.push(child);
  const ref = child.pid === undefined ? undefined : await processRefOf(child.pid);
  if (!ref) throw new Error('the supervisor process did not start');
  return {
    ref,
    die: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}

/** The ref of a supervisor that has exited, as after a SIGKILL or the OOM killer. */
export async function deadSupervisor(): Promise<ProcessRef> {
  const children: ResultPromise[] = [];
  const supervisor = await startSupervisor(children);
  await supervisor.die();
  if (await isProcessAlive(supervisor.ref)) throw new Error('the supervisor did not die');
  return supervisor.ref;
}

/** A CPU-only job of the given state with an id no other test in this process uses. */
const usedIds = new Set<string>();
export function testJob(overrides: Partial<JobEntry> & { seq: number }): JobEntry {
  let id: string;
  do id = String(randomInt(1000, 10_000));
  while (usedIds.has(id));
  usedIds.add(id);
  return makeJob({
    id,
    state: 'granted',
    request: { gpus: 0, cpus: 1, memoryMb: 256 },
    grant: { gpus: [], cpus: [0], memoryMb: 256 },
    ...overrides,
  });
}

/**
 * What `rp run` would ask Docker for `job` of the queue at `rpHome`: the base image, `true`, no
 * mounts, as uid 1000, unless `overrides` say otherwise.
 */
export function containerSpecFor(
  rpHome: string,
  job: JobEntry,
  overrides: Partial<JobContainerSpec> = {},
): JobContainerSpec {
  return {
    rpHome,
    job,
    grant: job.grant ?? { gpus: [], cpus: [0], memoryMb: 256 },
    image: BASE_IMAGE,
    command: ['true'],
    user: { uid: 1000, gid: 1000 },
    workingDir: '/',
    mounts: [],
    shmBytes: 64 * 1024 * 1024,
    interactive: false,
    ...overrides,
  };
}

/**
 * A container for `job` of the queue at `rpHome`, labelled as `rp run` labels it: created only,
 * started (`sleep 600`), or started and exited.
 */
export async function jobContainer(
  engine: ContainerEngine,
  rpHome: string,
  job: JobEntry,
  state: 'created' | 'running' | 'exited',
): Promise<ContainerRef> {
  const ref = await engine.createJobContainer(
    containerSpecFor(rpHome, job, {
      nameSuffix: `t${randomInt(100_000, 1_000_000)}`,
      command: state === 'exited' ? ['true'] : ['sleep', '600'],
      user: { uid: 0, gid: 0 },
    }),
  );
  if (state !== 'created') await engine.start(ref.id);
  if (state === 'exited') await engine.wait(ref.id);
  return ref;
}

/** Docker's state of a container (created, running, exited, ...), or undefined when it is gone. */
export async function containerState(id: string): Promise<string | undefined> {
  const result = await docker(['inspect', '--format', '{{.State.Status}}', id]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** Adds `jobs` to the ledger at `rpHome` as their rp processes would have. */
export async function seedLedger(rpHome: string, ...jobs: JobEntry[]): Promise<void> {
  const store = await openLedger({
    rpHome,
    clock: { now: () => new Date() },
    recover: async () => [],
  });
  await store.transact((state) => ({
    state: {
      ...state,
      nextSeq: Math.max(state.nextSeq, ...jobs.map((job) => job.seq + 1)),
      jobs: [...state.jobs, ...jobs],
    },
    result: undefined,
  }));
}

/** Removes every container labelled with the host directory `rpHome`. */
export async function removeQueueContainers(rpHome: string): Promise<void> {
  const listed = await docker(['ps', '-aq', '--filter', `label=rp.home=${rpHome}`]);
  const ids = listed.stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
}
