import { randomInt } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { KillResult } from '../../src/core/kill.js';
import type { Grant, JobEntry, LedgerState, ProcessRef } from '../../src/core/ledger-state.js';
import { jobName } from '../../src/core/naming.js';
import { finish, type HostPolicy } from '../../src/core/queue-transitions.js';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import type { ContainerRef } from '../../src/docker/engine.js';
import { manualClock } from '../../src/host/clock.js';
import { isProcessAlive, processRefOf } from '../../src/host/process.js';
import { readHistory } from '../../src/ledger/history.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import type { HostSession } from '../../src/services/host-session.js';
import { killJob, type KillJobOptions } from '../../src/services/kill-job.js';
import { makeJob } from '../ledger/fixtures/jobs.js';
import { assertDockerForCi, BASE_IMAGE, docker, skipWithoutDocker } from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';
import { openGpuObservationSource } from '../../src/services/gpu-observation.js';

/**
 * killJob against the real Docker engine and a real ledger. The job's `rp run` (its supervisor) is
 * a real process: a `sleep` child of this test, alive or already exited; where a live supervisor
 * has to finish its job, the test does what `rp run` does once the container has stopped.
 *
 * Every container here belongs to the test's own temporary RP_HOME (its rp.home label) and has a
 * job id no container on the engine uses yet: other containers on the engine are never touched.
 */

/** CPU-only, so the containers start on a host without the NVIDIA runtime. */
const policy: HostPolicy = {
  capacity: { gpus: [], cpus: [0], memoryMb: 4096 },
  limits: { default: {}, users: {} },
};
const request = { gpus: 0, cpus: 1, memoryMb: 256 };
const grant: Grant = { gpus: [], cpus: [0], memoryMb: 256 };
const alice = { name: 'alice', uid: 1000 };
const GRACE_SECONDS = 3;
/** What a stopped `sleep` exits with: SIGTERM, or SIGKILL after the grace period. */
const STOPPED_CODES = [143, 137];

describe.skipIf(skipWithoutDocker)('killJob (real ledger, real Docker engine)', () => {
  const engine = new DockerodeEngine();
  const clock = manualClock('2026-02-01T10:00:00.000Z');
  /** Job ids handed out by this file, so no two of its containers share a name. */
  const usedIds = new Set<string>();
  let rpHome: string;
  let cleanupHome: () => Promise<void>;
  let store: LedgerStore;
  let created: string[] = [];
  let supervisors: ResultPromise[] = [];

  beforeAll(() => assertDockerForCi());

  beforeEach(async () => {
    ({ dir: rpHome, cleanup: cleanupHome } = await makeTempDir('rp-kill-job-'));
    store = await openLedger({ rpHome, clock, recover: async () => [] });
  });

  afterEach(async () => {
    // Only this test's containers: the ones it made, and any other labelled with its RP_HOME.
    const labelled = await docker(['ps', '-aq', '--filter', `label=rp.home=${rpHome}`]);
    const ours = new Set([...created, ...labelled.stdout.split('\n').filter(Boolean)]);
    for (const id of ours) await engine.remove(id);
    created = [];
    for (const child of supervisors) child.kill('SIGKILL');
    await Promise.all(supervisors);
    supervisors = [];
    await cleanupHome();
  });

  /** A four-digit job id that no container on the engine is named after. */
  async function freshJobId(): Promise<string> {
    for (;;) {
      const id = String(randomInt(1000, 10_000));
      if (usedIds.has(id)) continue;
      usedIds.add(id);
      if ((await engine.inspectContainer(jobName(id))) === undefined) return id;
    }
  }

  /** A real process standing in for the job's `rp run`. */
  async function startSupervisor(): Promise<{ ref: ProcessRef; die: () => Promise<void> }> {
    const child = execa('sleep', ['300'], { reject: false });
    supervisors.push(child);
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

  /** The ref of a supervisor that has exited (and been collected). */
  async function deadSupervisor(): Promise<ProcessRef> {
    const supervisor = await startSupervisor();
    await supervisor.die();
    expect(await isProcessAlive(supervisor.ref)).toBe(false);
    return supervisor.ref;
  }

  /** Creates (and unless told otherwise starts) a `sleep 300` container for `job`. */
  async function createContainer(job: JobEntry, start = true): Promise<ContainerRef> {
    const ref = await engine.createJobContainer({
      rpHome,
      job,
      grant: job.grant ?? grant,
      image: BASE_IMAGE,
      command: ['sleep', '300'],
      user: { uid: 1000, gid: 1000 },
      workingDir: '/',
      mounts: [],
      shmBytes: 64 * 1024 * 1024,
      interactive: false,
    });
    created.push(ref.id);
    if (start) await engine.start(ref.id);
    return ref;
  }

  async function queuedJob(seq: number): Promise<JobEntry> {
    return makeJob({ id: await freshJobId(), seq, state: 'queued', request });
  }

  /** A running job in a really running container. */
  async function runningJob(
    seq: number,
    supervisor: ProcessRef,
    overrides: Partial<JobEntry> = {},
  ): Promise<JobEntry> {
    const job = makeJob({
      id: await freshJobId(),
      seq,
      state: 'granted',
      request,
      grant,
      supervisor,
      ...overrides,
    });
    const container = await createContainer(job);
    expect(await engine.inspectContainer(container.id)).toMatchObject({ running: true });
    return { ...job, state: 'running', container };
  }

  async function seed(...jobs: JobEntry[]): Promise<void> {
    await store.transact((state) => ({
      state: { ...state, nextSeq: Math.max(...jobs.map((job) => job.seq)) + 1, jobs },
      result: undefined,
    }));
  }

  function session(): HostSession {
    return {
      rpHome,
      policy: async () => policy,
      transact: (decide) => store.transact((state) => decide(state, policy)),
      store,
      engine,
      clock,
      reap: async () => ({ reaped: [], orphansRunning: [], unchecked: [] }),
      reapIfDue: async () => undefined,
      lookAtGpus: async () => undefined,
      gpus: openGpuObservationSource(rpHome),
    };
  }

  /** Kills one plain job; its one result. */
  async function kill(id: string, extra: Partial<KillJobOptions> = {}): Promise<KillResult> {
    const results = await killJob({
      id,
      requester: alice,
      session: session(),
      graceSeconds: GRACE_SECONDS,
      settleTimeoutMs: 30_000,
      settlePollMs: 20,
      ...extra,
    });
    expect(results).toHaveLength(1);
    return results[0] as KillResult;
  }

  const ledgerIds = async (): Promise<string[]> => (await store.read()).jobs.map((job) => job.id);
  const history = async () => (await readHistory(store.paths.history)).records;
  const containerOf = (job: JobEntry): ContainerRef => {
    if (!job.container) throw new Error(`job ${job.id} has no container`);
    return job.container;
  };

  it("removes a queued job with history 'killed' and leaves Docker alone", async () => {
    const supervisor = await startSupervisor();
    const queued = await queuedJob(1);
    const running = await runningJob(2, supervisor.ref);
    await seed(queued, running);
    const before = await engine.listJobContainers(rpHome);
    expect(before.map((job) => job.container?.id)).toEqual([containerOf(running).id]);

    const result = await kill(queued.id);

    expect(result).toMatchObject({ id: queued.id, action: 'removed', state: 'queued' });
    expect(await ledgerIds()).toEqual([running.id]);
    expect(await history()).toEqual([expect.objectContaining({ id: queued.id, ending: 'killed' })]);
    // The other job's container still runs, and nothing was created or removed.
    expect(await engine.listJobContainers(rpHome)).toEqual(before);
    expect(await engine.inspectContainer(containerOf(running).id)).toMatchObject({
      running: true,
    });
  });

  it('stops a running job and waits for its live rp run to clean up', async () => {
    const supervisor = await startSupervisor();
    const queued = await queuedJob(1);
    const running = await runningJob(2, supervisor.ref);
    const container = containerOf(running);
    await seed(queued, running);
    // The job's rp run: once its container has stopped, it finishes the job in the ledger.
    const finished = engine
      .wait(container.id)
      .then((exitCode) =>
        store.transact((state: LedgerState) =>
          finish(
            state,
            running,
            { ending: 'exited', endedAt: clock.now().toISOString(), exitCode },
            policy,
            clock.now(),
          ),
        ),
      );

    const result = await kill(running.id);

    expect(await finished).toBe(true);
    expect(result).toMatchObject({
      id: running.id,
      action: 'stopped',
      cleanup: 'supervisor',
      container,
    });
    // The container really stopped, and rp kill left removing it to the job's rp run.
    const state = await engine.inspectContainer(container.id);
    expect(state).toMatchObject({ running: false });
    expect(STOPPED_CODES).toContain(state?.exitCode);
    // The queued job got the freed core.
    expect((await store.read()).jobs).toEqual([
      expect.objectContaining({ id: queued.id, state: 'granted' }),
    ]);
    expect(await history()).toEqual([
      expect.objectContaining({ id: running.id, ending: 'killed', exitCode: state?.exitCode }),
    ]);
  });

  it("removes the container and the entry itself when the job's rp run is dead", async () => {
    const queued = await queuedJob(1);
    const running = await runningJob(2, await deadSupervisor());
    const container = containerOf(running);
    await seed(queued, running);

    const result = await kill(running.id);

    expect(result).toMatchObject({ action: 'stopped', cleanup: 'kill', container });
    expect(STOPPED_CODES).toContain(result.exitCode);
    expect(await engine.inspectContainer(container.id)).toBeUndefined();
    // The queued job got the freed core.
    expect((await store.read()).jobs).toEqual([
      expect.objectContaining({ id: queued.id, state: 'granted' }),
    ]);
    expect(await history()).toEqual([
      expect.objectContaining({ id: running.id, ending: 'killed', exitCode: result.exitCode }),
    ]);
  });

  it('cleans up itself when the rp run dies while it waits', async () => {
    const supervisor = await startSupervisor();
    const running = await runningJob(1, supervisor.ref);
    await seed(running);
    // The real answer each time; the supervisor dies right after the first one (alive).
    const answers: boolean[] = [];

    const result = await kill(running.id, {
      isProcessAlive: async (ref) => {
        const alive = await isProcessAlive(ref);
        answers.push(alive);
        if (answers.length === 1) await supervisor.die();
        return alive;
      },
    });

    expect(answers).toEqual([true, false]);
    expect(result.cleanup).toBe('kill');
    expect(await ledgerIds()).toEqual([]);
    expect(await engine.inspectContainer(containerOf(running).id)).toBeUndefined();
    expect(await history()).toEqual([
      expect.objectContaining({ id: running.id, ending: 'killed' }),
    ]);
  });

  it('gives up waiting after the timeout, leaving a live rp run its job', async () => {
    const supervisor = await startSupervisor();
    const running = await runningJob(1, supervisor.ref);
    await seed(running);

    const result = await kill(running.id, { settleTimeoutMs: 50 });

    expect(result.cleanup).toBe('pending');
    expect(await ledgerIds()).toEqual([running.id]);
    // Stopped for real, but the container is left for its rp run to remove.
    expect(await engine.inspectContainer(containerOf(running).id)).toMatchObject({
      running: false,
    });
    expect(await history()).toEqual([]);
  });

  it("removes a dead rp run's created container of a granted job, and no one else's", async () => {
    const granted = makeJob({
      id: await freshJobId(),
      seq: 2,
      state: 'granted',
      request,
      grant,
      supervisor: await deadSupervisor(),
    });
    // An earlier submission that got the same id: its container is renamed out of the way,
    // since Docker names a job's container after its id.
    const otherSubmission = await createContainer({ ...granted, seq: 7 }, false);
    const renamed = await docker([
      'rename',
      otherSubmission.id,
      `${otherSubmission.name}-other-${process.pid}`,
    ]);
    expect(renamed.exitCode, renamed.stderr).toBe(0);
    // Another job's created container in the same queue.
    const otherJob = await createContainer(
      makeJob({ id: await freshJobId(), seq: 3, state: 'granted', request, grant }),
      false,
    );
    // What the dead rp run made before it could mark the job running.
    const leftBehind = await createContainer(granted, false);
    await seed(granted);
    expect((await engine.listJobContainers(rpHome)).map((job) => job.container?.id).sort()).toEqual(
      [otherSubmission.id, otherJob.id, leftBehind.id].sort(),
    );

    const result = await kill(granted.id);

    expect(result).toMatchObject({ id: granted.id, action: 'removed', state: 'granted' });
    expect(await engine.inspectContainer(leftBehind.id)).toBeUndefined();
    expect(await engine.inspectContainer(otherSubmission.id)).toBeDefined();
    expect(await engine.inspectContainer(otherJob.id)).toBeDefined();
    expect(await ledgerIds()).toEqual([]);
    expect(await history()).toEqual([
      expect.objectContaining({ id: granted.id, ending: 'killed' }),
    ]);
  });

  it("refuses another user's job and touches nothing", async () => {
    const supervisor = await startSupervisor();
    const bobs = await runningJob(1, supervisor.ref, { user: 'bob', uid: 1001 });
    await seed(bobs);
    const before = await store.read();

    await expect(kill(bobs.id)).rejects.toThrow(ConfigError);
    await expect(kill(bobs.id)).rejects.toThrow(/bob's/);

    expect(await engine.inspectContainer(containerOf(bobs).id)).toMatchObject({ running: true });
    expect(await store.read()).toEqual(before);
    expect(await history()).toEqual([]);
  });
});
