import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import { engineFilePath } from '../../src/ledger/engine-id.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { CONTAINER_SWEEP_STAMP } from '../../src/ledger/reaper.js';
import { assertDockerForCi, docker, skipWithoutDocker } from '../support/docker.js';
import {
  containerState,
  deadSupervisor,
  jobContainer,
  removeQueueContainers,
  seedLedger,
  startSupervisor,
  testJob,
} from '../support/job-containers.js';
import { createRpProject, jobIdOf, type RpProject, waitForOutput } from '../support/rp-project.js';

/**
 * Every container rp created is removed once its job is over, by whichever rp command reaps next,
 * even when the job's `rp run` could not do it; and a process that reaches another Docker engine
 * than the queue's refuses the queue instead of reaping jobs it cannot see.
 *
 * The containers made by hand here are labelled with this test's RP_HOME (or a sibling one that
 * no rp command here uses), and all of them are removed at the end.
 */

const WAIT_MS = 120_000;

describe.skipIf(skipWithoutDocker)(
  'reaping removes leftover containers (real Docker engine)',
  () => {
    const engine = new DockerodeEngine();
    let project: RpProject;
    /** A queue on the same engine that no rp command of this test uses. */
    let otherHome: string;
    let supervisors: ResultPromise[] = [];

    /** Lets the next rp command list the queue's containers, as if the interval had passed. */
    const expireSweep = () =>
      rm(join(ledgerPaths(project.rpHome).dir, CONTAINER_SWEEP_STAMP), { force: true });
    const ledgerIds = async () => (await project.ledger()).jobs.map((job) => job.id);
    const ps = async () => {
      const result = await project.rp(['ps']);
      expect(result.exitCode, result.stderr).toBe(0);
    };

    beforeAll(async () => {
      assertDockerForCi();
      project = await createRpProject('rp-reap-');
      otherHome = `${project.rpHome}-other`;
      // Runs until the test creates output/stop in the project, so no test depends on a timing.
      await project.script(
        'hold.sh',
        'echo started\nwhile [ ! -e output/stop ]; do sleep 0.2; done\necho stopping',
      );
      await project.script('hello.sh', 'echo hello');
      const build = await project.rp(['build', '--quiet']);
      expect(build.exitCode, build.stderr).toBe(0);
    });

    beforeEach(async () => {
      await mkdir(join(project.dir, 'output'), { recursive: true });
      await rm(join(project.dir, 'output/stop'), { force: true });
    });

    afterEach(async () => {
      await project?.stopJobs();
      for (const child of supervisors) child.kill('SIGKILL');
      await Promise.all(supervisors);
      supervisors = [];
      await removeQueueContainers(project.rpHome);
      await removeQueueContainers(otherHome);
      await rm(engineFilePath(project.rpHome), { force: true });
    });

    afterAll(async () => {
      await project?.cleanup();
    });

    it('removes the container of a SIGKILLed rp run once it has exited, not while it runs', async () => {
      // Given a foreground rp run whose job is running
      const run = project.startRun(['--script=hold.sh']);
      const id = await jobIdOf(run, WAIT_MS);
      await waitForOutput(run, /started/, { timeoutMs: WAIT_MS });
      const [container] = await project.jobContainers(id);
      expect(container).toBeDefined();

      // When the rp run is SIGKILLed (as the OOM killer would), and rp ps runs at once
      run.kill('SIGKILL');
      await run;
      await ps();

      // Then the job keeps its container (and its resources) while the container runs
      expect(await containerState(container as string)).toBe('running');
      expect(await ledgerIds()).toContain(id);

      // When the container exits and rp ps runs again
      await writeFile(join(project.dir, 'output/stop'), '');
      await docker(['wait', container as string]);
      await ps();

      // Then the entry and the container are gone, and the history says it was reaped
      expect(await project.jobContainers(id)).toEqual([]);
      expect(await ledgerIds()).not.toContain(id);
      expect(await project.history()).toContainEqual(
        expect.objectContaining({ id, ending: 'reaped' }),
      );
    });

    it('removes created and exited containers of jobs that are over', async () => {
      // Given a created, never started container of a job no longer in the ledger, an exited one
      // (its rp run released the job, then failed to remove it), and a granted job whose rp run
      // died between creating its container and starting it
      const gone = await jobContainer(engine, project.rpHome, testJob({ seq: 901 }), 'created');
      const released = await jobContainer(engine, project.rpHome, testJob({ seq: 902 }), 'exited');
      const orphan = testJob({ seq: 903, supervisor: await deadSupervisor() });
      await seedLedger(project.rpHome, orphan);
      const orphanContainer = await jobContainer(engine, project.rpHome, orphan, 'created');
      expect(await containerState(released.id)).toBe('exited');

      // When rp ps runs (the first since the last listing of containers is long enough ago)
      await expireSweep();
      await ps();

      // Then all three containers are gone, and so is the dead job's entry
      expect(await containerState(gone.id)).toBeUndefined();
      expect(await containerState(released.id)).toBeUndefined();
      expect(await containerState(orphanContainer.id)).toBeUndefined();
      expect(await ledgerIds()).not.toContain(orphan.id);
    });

    it("leaves live jobs' containers and other queues' containers alone", async () => {
      // Given a running rp run, a live granted job whose rp run has created but not yet started
      // its container, and containers of another queue on the same engine, one of them exited
      const run = project.startRun(['--script=hold.sh']);
      const id = await jobIdOf(run, WAIT_MS);
      await waitForOutput(run, /started/, { timeoutMs: WAIT_MS });
      const [running] = await project.jobContainers(id);
      const starting = testJob({ seq: 911, supervisor: (await startSupervisor(supervisors)).ref });
      await seedLedger(project.rpHome, starting);
      const created = await jobContainer(engine, project.rpHome, starting, 'created');
      const elsewhere = await jobContainer(engine, otherHome, testJob({ seq: 912 }), 'created');
      const elsewhereExited = await jobContainer(
        engine,
        otherHome,
        testJob({ seq: 913 }),
        'exited',
      );

      // When rp ps lists the containers
      await expireSweep();
      await ps();

      // Then every one of them is still there, as it was
      expect(await containerState(running as string)).toBe('running');
      expect(await containerState(created.id)).toBe('created');
      expect(await containerState(elsewhere.id)).toBe('created');
      expect(await containerState(elsewhereExited.id)).toBe('exited');
      expect(await ledgerIds()).toEqual(expect.arrayContaining([id, starting.id]));
    });

    it('refuses a queue recorded for another engine, and reaps nothing of it', async () => {
      // Given a queue whose engine is recorded (by the first rp command that asked Docker)
      await expireSweep();
      await ps();
      const engineFile = engineFilePath(project.rpHome);
      const recorded = JSON.parse(await readFile(engineFile, 'utf8')) as { id: string };
      const realId = (await docker(['info', '--format', '{{.ID}}'])).stdout.trim();
      expect(recorded.id).toBe(realId);

      // When the record names another engine (as if this process reached a rootless one)
      await writeFile(
        engineFile,
        JSON.stringify({ version: 1, id: 'FAKE:ENGINE', name: 'elsewhere', recordedAt: 'x' }),
      );

      // Then a listing that needs no Docker still shows, without asking the engine
      await ps();

      // Given a job whose rp run died and whose container has exited: reapable, on the right engine
      const orphan = testJob({ seq: 921, state: 'running', supervisor: await deadSupervisor() });
      const container = await jobContainer(engine, project.rpHome, orphan, 'exited');
      await seedLedger(project.rpHome, { ...orphan, container });
      const historyBefore = await project.history();

      // When rp ps and rp run run
      const listing = await project.rp(['ps']);
      const run = await project.rp(['run', '--script=hello.sh']);

      // Then both refuse with a config error naming both engines, and nothing was reaped or queued
      for (const result of [listing, run]) {
        expect(result.exitCode, result.stderr).toBe(3);
        expect(result.stderr).toContain(
          'belongs to the Docker engine FAKE:ENGINE (host elsewhere)',
        );
        expect(result.stderr).toContain(`reaches the engine ${realId}`);
        expect(result.stderr).toContain('set DOCKER_HOST');
      }
      expect(await ledgerIds()).toEqual([orphan.id]);
      expect(await containerState(container.id)).toBe('exited');
      expect(await project.history()).toEqual(historyBefore);

      // When the admin deletes the record (the queue really moved to this engine)
      await rm(engineFile);
      await ps();

      // Then this engine is recorded and the dead job is reaped, container and all
      expect(await ledgerIds()).not.toContain(orphan.id);
      expect(await containerState(container.id)).toBeUndefined();
      expect((JSON.parse(await readFile(engineFile, 'utf8')) as { id: string }).id).toBe(realId);
    });
  },
);
