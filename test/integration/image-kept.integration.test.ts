import { readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerState } from '../../src/core/ledger-state.js';
import { currentProcessRef } from '../../src/host/process.js';
import { PINS_DIR, pinImage } from '../../src/ledger/image-pins.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { assertDockerForCi, docker, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  jobIdOf,
  type RpProject,
  waitForOutput,
  withTimeout,
} from '../support/rp-project.js';

/** How long a background `rp run` may take to print what a test waits for (builds included). */
const WAIT_MS = 120_000;

/**
 * A rebuild of the project removes its older images, but never one that a job in the queue will
 * still run: the ledger records each job's image, and the build keeps the images it names.
 */
describe.skipIf(skipWithoutDocker)('a queued job keeps its image (real Docker engine)', () => {
  let project: RpProject;

  const ledger = async (): Promise<LedgerState> =>
    JSON.parse(await readFile(ledgerPaths(project.rpHome).ledger, 'utf8')) as LedgerState;
  const imageExists = async (reference: string): Promise<boolean> =>
    (await docker(['image', 'inspect', reference])).exitCode === 0;
  /** `rp build`; returns the image it made (or found). */
  const build = async (): Promise<{ reference: string; built: boolean }> => {
    const result = await project.rp(['build', '--json', '--quiet']);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { reference: string; built: boolean };
  };

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-image-kept-', {
      // One core: a job holding it keeps every other job in the queue.
      hostConfig: (config) => {
        config.capacity.cpus = 1;
      },
    });
    await project.script('hold.sh', 'echo started\nsleep 300');
    await project.script('print.sh', 'echo "printed by the queued job"');
  });

  afterEach(async () => {
    await project?.stopJobs();
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('a rebuild keeps the image of a queued job, which then runs; a later rebuild removes it', async () => {
    // Given a job holding the only core, on the project's first image I0,
    const first = await build();
    const blocker = project.startRun(['--script=hold.sh']);
    await waitForOutput(blocker, /started/, { timeoutMs: WAIT_MS });
    // and a job J queued behind it on image I1, built from changed inputs (it must differ from
    // the blocker's: an image that a container uses cannot be removed anyway),
    await project.appendToHook('# the image of the queued job');
    const jobImage = (await build()).reference;
    expect(jobImage).not.toBe(first.reference);
    const queued = project.startRun(['--script=print.sh']);
    const id = await jobIdOf(queued, WAIT_MS);
    expect((await ledger()).jobs.find((job) => job.id === id)).toMatchObject({ state: 'queued' });

    // When the image inputs change again and the project is rebuilt,
    await project.appendToHook('# a newer image');
    const rebuilt = await build();

    // Then a new image I2 was built, and I1 is still there for J. Before the ledger recorded
    // each job's image, this rebuild removed I1 (no container used it yet), so the next
    // assertion failed, and J later failed at create with "No such image".
    expect(rebuilt.built).toBe(true);
    expect(rebuilt.reference).not.toBe(jobImage);
    expect(await imageExists(jobImage)).toBe(true);
    expect(await imageExists(first.reference)).toBe(true);
    // (what kept it: the ledger entry names the image J runs)
    expect((await ledger()).jobs.find((job) => job.id === id)).toMatchObject({
      state: 'queued',
      image: jobImage,
    });

    // When the blocker is stopped, J gets the core and runs to the end on I1.
    blocker.kill('SIGINT');
    expect((await blocker).exitCode).toBe(130);
    const ran = await withTimeout(queued, WAIT_MS, 'the queued job to run');
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('printed by the queued job');
    expect((await ledger()).jobs).toEqual([]);

    // Then, with no job left to run them, the next rebuild removes every older image.
    await project.appendToHook('# once nothing is queued');
    const last = await build();
    expect(last.built).toBe(true);
    expect(await imageExists(last.reference)).toBe(true);
    for (const older of [first.reference, jobImage, rebuilt.reference]) {
      expect(await imageExists(older), older).toBe(false);
    }
  });

  it('keeps an image a live process has pinned while preparing its job, not an ended one', async () => {
    // Given the project's image, pinned by a process that is preparing a job (this one)
    const pinned = await build();
    await pinImage(ledgerPaths(project.rpHome), pinned.reference);
    // When the project is rebuilt elsewhere before that job is queued
    await project.appendToHook('# rebuilt while another job is being prepared');
    const rebuilt = await build();
    expect(rebuilt.reference).not.toBe(pinned.reference);
    // Then the pinned image is still there for the job
    expect(await imageExists(pinned.reference)).toBe(true);

    // And a pin of a process that has ended keeps nothing: the next rebuild removes it
    // (a pid above any this machine hands out: no such process)
    await rename(pinFile(), join(dirname(pinFile()), '4194000-1'));
    await project.appendToHook('# and once more');
    await build();
    expect(await imageExists(pinned.reference)).toBe(false);
    expect(await imageExists(rebuilt.reference)).toBe(false);
  });

  /** This process's pin file (see src/ledger/image-pins.ts). */
  function pinFile(): string {
    const dir = join(ledgerPaths(project.rpHome).dir, PINS_DIR);
    return join(dir, `${process.pid}-${pinStartTime}`);
  }
  let pinStartTime = '';
  beforeAll(async () => {
    pinStartTime = (await currentProcessRef()).startTime;
  });
});
