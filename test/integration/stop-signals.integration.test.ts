import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobEntry } from '../../src/core/ledger-state.js';
import { connectDocker, type ContainerEngine } from '../../src/docker/engine.js';
import type { HostSession } from '../../src/services/host-session.js';
import { JobEndedError, superviseJob, type SuperviseOptions } from '../../src/services/run-job.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  captureOutput,
  createSupervisedHost,
  createSupervisedProject,
  engineWith,
  recordingReporter,
  type CapturedOutput,
  type RecordingReporter,
  type SupervisedHost,
  type SupervisedProject,
} from '../support/supervised-job.js';

/**
 * superviseJob honours Ctrl+C, SIGTERM and SIGHUP at every moment between the grant and the
 * container's start, and after it. Each signal lands at one exact moment: the real engine (or the
 * session's transaction) is wrapped so that the test's AbortController fires right inside the step
 * under test, the way a signal arriving then would. The scripts that must never start are quick,
 * so a job that starts anyway ends and fails the test at once instead of hanging it.
 */

/** What a container stopped with SIGTERM (or SIGKILL after the grace period) exits with. */
const STOPPED_CODES = [143, 137];

describe.skipIf(skipWithoutDocker)('superviseJob on a stop signal (real Docker)', () => {
  let engine: ContainerEngine;
  let project: SupervisedProject;
  let host: SupervisedHost;

  beforeAll(async () => {
    assertDockerForCi();
    engine = await connectDocker();
    project = await createSupervisedProject('rp-stop-signals-', engine);
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  beforeEach(async () => {
    host = await createSupervisedHost('rp-stop-signals-home-');
  });

  afterEach(async () => {
    await host.cleanup(engine);
  });

  interface QueuedJob {
    job: JobEntry;
    options: SuperviseOptions;
    reporter: RecordingReporter;
    stdout: CapturedOutput;
  }

  /** Queues the script `name` as `rp run` does, to be supervised through `session`. */
  async function queueJob(
    session: HostSession,
    controller: AbortController,
    name: string,
    body: string,
  ): Promise<QueuedJob> {
    const prepared = await project.prepare(session, name, body);
    const job = await host.submit(session, prepared, project.user);
    expect(job).toMatchObject({ state: 'granted' });
    const reporter = recordingReporter();
    const stdout = captureOutput();
    const options: SuperviseOptions = {
      session,
      prepared,
      job,
      noWait: false,
      reporter,
      stdout: stdout.stream,
      stderr: captureOutput().stream,
      signal: controller.signal,
    };
    return { job, options, reporter, stdout };
  }

  /** The real engine, remembering which containers it was asked to attach to and start. */
  function watchedEngine(overrides: Parameters<typeof engineWith>[1] = {}): {
    engine: ContainerEngine;
    calls: string[];
  } {
    const calls: string[] = [];
    return {
      calls,
      engine: engineWith(engine, {
        attach: async (id, io) => {
          calls.push('attach');
          return engine.attach(id, io);
        },
        start: async (id) => {
          calls.push('start');
          return engine.start(id);
        },
        ...overrides,
      }),
    };
  }

  /** `session` whose ledger transactions call `onRunning` inside the one that marks `running`. */
  function onRunningTransition(session: HostSession, onRunning: () => void): HostSession {
    return {
      ...session,
      transact: (decide) =>
        session.transact((state, policy) => {
          const decision = decide(state, policy);
          const result = decision.result as Partial<JobEntry> | undefined;
          if (typeof result === 'object' && result?.state === 'running') onRunning();
          return decision;
        }),
    };
  }

  /** The job left the ledger as cancelled, and no container of it is left. */
  async function expectCancelledAndRemoved(job: JobEntry): Promise<void> {
    expect((await host.store.read()).jobs).toEqual([]);
    expect(await host.history()).toEqual([
      expect.objectContaining({ id: job.id, ending: 'cancelled' }),
    ]);
    expect(await host.containers()).toEqual([]);
  }

  it('Ctrl+C while the container is created: removed before it is marked running, exit 130', async () => {
    // Given an engine on which SIGINT arrives while the job's container is being created
    const controller = new AbortController();
    const created: string[] = [];
    const watched = watchedEngine({
      createJobContainer: async (spec) => {
        const container = await engine.createJobContainer(spec);
        created.push(container.id);
        controller.abort('SIGINT');
        return container;
      },
    });
    const marked: string[] = [];
    const session = onRunningTransition(host.session(watched.engine), () => marked.push('running'));
    const { job, options, reporter, stdout } = await queueJob(
      session,
      controller,
      'quick.sh',
      'echo ran',
    );

    // When rp supervises it
    const error = await superviseJob(options).catch((thrown: unknown) => thrown);

    // Then it stops with JobEndedError 130 before the job is even marked running
    expect(error).toBeInstanceOf(JobEndedError);
    expect(error).toMatchObject({ exitCode: 130 });
    expect(created).toHaveLength(1);
    expect(marked).toEqual([]);
    expect(watched.calls).toEqual([]);
    expect(reporter.calls).not.toContain('started');
    expect(stdout.text()).toBe('');
    // and the container it made is gone with the job
    expect(await engine.inspectContainer(created[0] ?? 'none')).toBeUndefined();
    await expectCancelledAndRemoved(job);
  });

  it('SIGHUP during the running transition: removed before attach and start, exit 129', async () => {
    // Given a session on which SIGHUP arrives inside the transaction that marks the job running
    const controller = new AbortController();
    const watched = watchedEngine();
    const session = onRunningTransition(host.session(watched.engine), () =>
      controller.abort('SIGHUP'),
    );
    const { job, options, reporter, stdout } = await queueJob(
      session,
      controller,
      'quick.sh',
      'echo ran',
    );

    // When rp supervises it
    const error = await superviseJob(options).catch((thrown: unknown) => thrown);

    // Then it stops with JobEndedError 129 without reporting a start or attaching
    expect(error).toBeInstanceOf(JobEndedError);
    expect(error).toMatchObject({ exitCode: 129 });
    expect(watched.calls).toEqual([]);
    expect(reporter.calls).not.toContain('started');
    expect(stdout.text()).toBe('');
    await expectCancelledAndRemoved(job);
  });

  it('SIGTERM during the attach: removed before it starts, exit 143', async () => {
    // Given an engine on which SIGTERM arrives while rp attaches to the job's container
    const controller = new AbortController();
    const watched = watchedEngine({
      attach: async (id, io) => {
        const attached = await engine.attach(id, io);
        controller.abort('SIGTERM');
        return attached;
      },
    });
    const { job, options, stdout } = await queueJob(
      host.session(watched.engine),
      controller,
      'quick.sh',
      'echo ran',
    );

    // When rp supervises it
    const error = await superviseJob(options).catch((thrown: unknown) => thrown);

    // Then it stops with JobEndedError 143 and the container never starts
    expect(error).toBeInstanceOf(JobEndedError);
    expect(error).toMatchObject({ exitCode: 143 });
    expect(watched.calls).toEqual([]);
    expect(stdout.text()).toBe('');
    await expectCancelledAndRemoved(job);
  });

  it('Ctrl+C once the job runs: stops its container and exits 130', async () => {
    // Given a running job that says so, then sleeps for a minute
    const controller = new AbortController();
    const { job, options, stdout } = await queueJob(
      host.session(engine),
      controller,
      'sleeper.sh',
      'echo started; sleep 60',
    );
    // and SIGINT arriving as soon as its output shows it runs
    stdout.stream.on('data', () => {
      if (stdout.text().includes('started')) controller.abort('SIGINT');
    });

    // When rp supervises it
    const exitCode = await superviseJob(options);

    // Then the container was stopped, not left to finish its minute, and rp exits 130
    expect(exitCode).toBe(130);
    const [record, ...others] = await host.history();
    expect(others).toEqual([]);
    expect(record).toMatchObject({ id: job.id, ending: 'killed' });
    expect(STOPPED_CODES).toContain(record?.exitCode);
    expect((await host.store.read()).jobs).toEqual([]);
    expect(await host.containers()).toEqual([]);
  });
});
