import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerError, ExitCode } from '../../src/core/errors.js';
import type { JobEntry } from '../../src/core/ledger-state.js';
import {
  connectDocker,
  type ContainerEngine,
  type ContainerState,
} from '../../src/docker/engine.js';
import { ContainerGoneError, EngineLostError } from '../../src/services/container-exit.js';
import { superviseJob, type SuperviseOptions } from '../../src/services/run-job.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  captureOutput,
  createSupervisedHost,
  createSupervisedProject,
  engineGone,
  engineWith,
  recordingReporter,
  type RecordingReporter,
  type SupervisedHost,
  type SupervisedProject,
} from '../support/supervised-job.js';

/**
 * superviseJob when the Docker engine stops answering while the job runs (dockerd restarted, its
 * socket closed): that is not the job ending. The engine is the real one with `wait` (and
 * `inspectContainer`) replaced by versions that fail the way a vanished dockerd makes them fail;
 * restarting the real dockerd instead would break every other test that uses it at the time.
 */

/** Short pauses between the questions to the engine, so giving up takes well under a second. */
const RETRY_DELAYS_MS = [50, 100, 200];

describe.skipIf(skipWithoutDocker)('superviseJob when the engine goes away (real Docker)', () => {
  let engine: ContainerEngine;
  let project: SupervisedProject;
  let host: SupervisedHost;

  beforeAll(async () => {
    assertDockerForCi();
    engine = await connectDocker();
    project = await createSupervisedProject('rp-engine-loss-', engine);
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  beforeEach(async () => {
    host = await createSupervisedHost('rp-engine-loss-home-');
  });

  afterEach(async () => {
    await host.cleanup(engine);
  });

  /** Queues the script `name` as `rp run` does; superviseJob then talks to `faulty`. */
  async function queueJob(
    faulty: ContainerEngine,
    name: string,
    body: string,
  ): Promise<{ job: JobEntry; options: SuperviseOptions; reporter: RecordingReporter }> {
    const session = host.session(faulty);
    const prepared = await project.prepare(session, name, body);
    const job = await host.submit(session, prepared, project.user);
    expect(job).toMatchObject({ state: 'granted', grant: expect.anything() });
    const reporter = recordingReporter();
    const options: SuperviseOptions = {
      session,
      prepared,
      job,
      noWait: false,
      reporter,
      stdout: captureOutput().stream,
      stderr: captureOutput().stream,
      signal: new AbortController().signal,
      engineRetryDelaysMs: RETRY_DELAYS_MS,
    };
    return { job, options, reporter };
  }

  it('keeps the entry, its grant and the running container when the engine stops answering', async () => {
    // Given a running job whose engine fails every wait and every inspect from its start on
    const asked: string[] = [];
    const faulty = engineWith(engine, {
      wait: async () => {
        asked.push('wait');
        throw engineGone();
      },
      inspectContainer: async () => {
        asked.push('inspect');
        throw engineGone();
      },
    });
    const { job, options, reporter } = await queueJob(faulty, 'long.sh', 'sleep 600');

    // When rp supervises it
    const error = await superviseJob(options).catch((thrown: unknown) => thrown);

    // Then it gives up with EngineLostError (125) after asking once per retry delay
    expect(error).toBeInstanceOf(EngineLostError);
    expect(error).toBeInstanceOf(DockerError);
    expect(error).toMatchObject({
      exitCode: ExitCode.docker,
      message: expect.stringMatching(/lost the Docker engine/),
    });
    expect(asked).toEqual(['wait', ...RETRY_DELAYS_MS.map(() => 'inspect')]);
    expect(reporter.calls).toContain('started');
    // and nothing is released: the container may still hold the job's resources
    const [containerId, ...others] = await host.containers();
    expect(others).toEqual([]);
    expect((await host.store.read()).jobs).toEqual([
      expect.objectContaining({
        id: job.id,
        state: 'running',
        grant: job.grant,
        container: expect.objectContaining({ id: containerId }),
      }),
    ]);
    expect(await host.history()).toEqual([]);
    expect(await engine.inspectContainer(containerId ?? 'none')).toMatchObject({ running: true });
  });

  it('asks again, waits again for a container that still runs, and passes its exit code on', async () => {
    // Given a job that runs until the file "finish-now" appears, then exits 7
    const finishNow = join(project.dir, 'finish-now');
    const body = 'until [ -e finish-now ]; do sleep 0.05; done; exit 7';
    // and an engine whose first wait and first inspect fail, as while dockerd restarts
    let waits = 0;
    let inspections = 0;
    const answers: Array<ContainerState | undefined> = [];
    const faulty = engineWith(engine, {
      wait: async (id) => {
        waits += 1;
        if (waits === 1) throw engineGone();
        // The job may finish only once it is waited for again: it was running when asked.
        await writeFile(finishNow, '');
        return engine.wait(id);
      },
      inspectContainer: async (id) => {
        inspections += 1;
        if (inspections === 1) throw engineGone();
        const state = await engine.inspectContainer(id);
        answers.push(state);
        return state;
      },
    });
    const { job, options } = await queueJob(faulty, 'finish-on-request.sh', body);

    // When rp supervises it
    const exitCode = await superviseJob(options);

    // Then the engine's answer "still running" made it wait again, and the job's code came back
    expect(answers).toEqual([expect.objectContaining({ running: true })]);
    expect(waits).toBe(2);
    expect(exitCode).toBe(7);
    // and the job ended normally: out of the ledger, in the history, its container removed
    expect((await host.store.read()).jobs).toEqual([]);
    expect(await host.history()).toEqual([
      expect.objectContaining({ id: job.id, ending: 'exited', exitCode: 7 }),
    ]);
    expect(await host.containers()).toEqual([]);
  });

  it('ends the job and releases its grant when the engine says the container is gone', async () => {
    // Given a running job whose container is removed behind rp's back while its wait fails
    const faulty = engineWith(engine, {
      wait: async (id) => {
        await engine.remove(id);
        throw engineGone();
      },
    });
    const { job, options } = await queueJob(faulty, 'removed.sh', 'sleep 600');

    // When rp supervises it
    const error = await superviseJob(options).catch((thrown: unknown) => thrown);

    // Then the engine's answer "no such container" ends the questions at once (125)
    expect(error).toBeInstanceOf(ContainerGoneError);
    expect(error).toMatchObject({
      exitCode: ExitCode.docker,
      message: expect.stringMatching(/container \w+ disappeared while the job ran/),
    });
    expect(await host.containers()).toEqual([]);
    // And a container confirmed gone holds nothing: the job leaves the ledger as failed
    expect((await host.store.read()).jobs).toEqual([]);
    expect(await host.history()).toEqual([
      expect.objectContaining({ id: job.id, ending: 'failed', grant: job.grant }),
    ]);
  });
});
