import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { HistoryRecord, JobEntry } from '../../src/core/ledger-state.js';
import type { HostPolicy } from '../../src/core/queue-transitions.js';
import { JOB_LABELS } from '../../src/docker/labels.js';
import type { ContainerEngine } from '../../src/docker/engine.js';
import { manualClock } from '../../src/host/clock.js';
import { currentUser, type HostUser } from '../../src/host/identity.js';
import { readHistory } from '../../src/ledger/history.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { buildProjectImage, type BuildReporter } from '../../src/services/build-image.js';
import type { HostSession } from '../../src/services/host-session.js';
import { initProject } from '../../src/services/init-project.js';
import { loadProject } from '../../src/services/project.js';
import { prepareJob, submitJob, type PreparedJob } from '../../src/services/job-submission.js';
import type { JobReporter } from '../../src/services/run-job.js';
import { BASE_IMAGE, docker, removeProjectImages } from './docker.js';
import { makeTempDir } from './tmp.js';
import { openGpuObservationSource } from '../../src/services/gpu-observation.js';

/**
 * superviseJob driven by hand, the way `rp run` drives it, against the real Docker engine and a
 * real ledger: a project whose image is built once, a host (RP_HOME) per test with a HostSession
 * assembled in the test (as in kill-job.integration.test.ts), and `engineWith` to replace single
 * engine methods, so a fault or a signal lands at one exact moment of the job.
 */

/** CPU-only, so the containers start on a host without the NVIDIA runtime. */
export const CPU_ONLY_POLICY: HostPolicy = {
  capacity: { gpus: [], cpus: [0], memoryMb: 4096 },
  limits: { default: {}, users: {} },
};

const quietBuild: BuildReporter = {
  reused: () => undefined,
  started: () => undefined,
  update: () => undefined,
  finished: async () => undefined,
};

/**
 * The real engine with some methods replaced. Every other method is the real one: only what a
 * test names behaves differently, and the real dockerd is never restarted or disturbed.
 */
export function engineWith(
  real: ContainerEngine,
  overrides: Partial<ContainerEngine>,
): ContainerEngine {
  return new Proxy(real, {
    get: (target, method) => {
      const override = overrides[method as keyof ContainerEngine];
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(target, method);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** An error like the one an engine call fails with when dockerd goes away mid-call. */
export function engineGone(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** A JobReporter that remembers which of its methods were called, in order. */
export interface RecordingReporter extends JobReporter {
  calls: string[];
}

export function recordingReporter(): RecordingReporter {
  const calls: string[] = [];
  const record = (name: string) => (): void => {
    calls.push(name);
  };
  return {
    calls,
    queued: record('queued'),
    waiting: record('waiting'),
    started: record('started'),
    logFile: record('logFile'),
    timedOut: record('timedOut'),
    preempted: record('preempted'),
    finished: record('finished'),
  };
}

/** A stream standing in for the terminal, and what was written to it. */
export interface CapturedOutput {
  stream: PassThrough;
  text(): string;
}

export function captureOutput(): CapturedOutput {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

/** An rp project on the base image (1 core, no GPU, 0.5 GB) whose image is already built. */
export interface SupervisedProject {
  dir: string;
  user: HostUser;
  /** Writes the bash script `name` into the project and prepares a job that runs it. */
  prepare(session: HostSession, name: string, body: string): Promise<PreparedJob>;
  /** Removes the project's images and its folder. */
  cleanup(): Promise<void>;
}

export async function createSupervisedProject(
  prefix: string,
  engine: ContainerEngine,
): Promise<SupervisedProject> {
  const { dir, cleanup: removeDir } = await makeTempDir(prefix);
  const user = currentUser();
  const cleanup = async (): Promise<void> => {
    await removeProjectImages(dir);
    await removeDir();
  };
  try {
    await initProject({ dir, user, base: BASE_IMAGE, cpu: 1, gpus: 0, memory: 0.5, force: false });
    // Built here once; every prepareJob of the tests then finds it and reuses it.
    await buildProjectImage({
      project: await loadProject(dir),
      user,
      engine,
      reporter: quietBuild,
      imagesInUse: async () => undefined,
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    dir,
    user,
    prepare: async (session, name, body) => {
      await writeFile(join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      return prepareJob({ cwd: dir, user, kind: 'run', script: name, session, build: quietBuild });
    },
    cleanup,
  };
}

/** A host of its own (a temporary RP_HOME with a real ledger) for one test. */
export interface SupervisedHost {
  rpHome: string;
  store: LedgerStore;
  /** A session of this host whose Docker calls go to `engine`. */
  session(engine: ContainerEngine): HostSession;
  /** Queues the job as `rp run` does; on this free host it is granted at once. */
  submit(session: HostSession, prepared: PreparedJob, user: HostUser): Promise<JobEntry>;
  /** The full ids of the containers labelled with this host, in any state. */
  containers(): Promise<string[]>;
  history(): Promise<HistoryRecord[]>;
  /** Removes every container of this host through `engine`, then the host's folder. */
  cleanup(engine: ContainerEngine): Promise<void>;
}

export async function createSupervisedHost(prefix: string): Promise<SupervisedHost> {
  const { dir: rpHome, cleanup: removeDir } = await makeTempDir(prefix);
  const clock = manualClock('2026-02-01T10:00:00.000Z');
  const store = await openLedger({ rpHome, clock, recover: async () => [] });
  const containers = async (): Promise<string[]> => {
    const listed = await docker([
      'ps',
      '-aq',
      '--no-trunc',
      '--filter',
      `label=${JOB_LABELS.home}=${rpHome}`,
    ]);
    if (listed.exitCode !== 0) throw new Error(`docker ps failed: ${listed.stderr}`);
    return listed.stdout.split('\n').filter(Boolean);
  };
  return {
    rpHome,
    store,
    session: (engine) => ({
      rpHome,
      policy: async () => CPU_ONLY_POLICY,
      transact: (decide) => store.transact((state) => decide(state, CPU_ONLY_POLICY)),
      store,
      engine,
      clock,
      reap: async () => ({ reaped: [], orphansRunning: [], unchecked: [] }),
      reapIfDue: async () => undefined,
      lookAtGpus: async () => undefined,
      gpus: openGpuObservationSource(rpHome),
    }),
    submit: (session, prepared, user) => submitJob(session, prepared, user),
    containers,
    history: async () => (await readHistory(store.paths.history)).records,
    cleanup: async (engine) => {
      for (const id of await containers()) await engine.remove(id);
      await removeDir();
    },
  };
}
