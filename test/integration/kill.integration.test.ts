import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, docker, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  jobIdOf,
  type RpChild,
  type RpProject,
  waitForOutput,
  withTimeout,
} from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

/** What a stopped container may exit with: SIGTERM, or SIGKILL after the grace period. */
const STOPPED_CODES = [143, 137];

/** How long a background `rp run` may take to print what a test waits for. */
const WAIT_MS = 120_000;

describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp kill (real Docker engine)', () => {
  let project: RpProject;
  let projectName: string;

  /** A job holding every core of the test host, running until it is stopped. */
  async function startHolder(): Promise<{ child: RpChild; id: string }> {
    const child = project.startRun(['--script=hold.sh', '--cpu', '2']);
    const [id] = await Promise.all([
      jobIdOf(child, WAIT_MS),
      waitForOutput(child, /started/, { timeoutMs: WAIT_MS }),
    ]);
    expect((await project.ledger()).jobs).toContainEqual(
      expect.objectContaining({ id, state: 'running' }),
    );
    return { child, id };
  }

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-kill-', {
      // The other user of the "another user's job" test must reach $RP_HOME inside this folder.
      dirMode: 0o755,
      // Two cores whatever the machine has, so that `--cpu 2` holds all of them.
      hostConfig: (config) => {
        config.capacity.cpus = 2;
      },
    });
    projectName = (await project.info()).name;
    await project.script('hold.sh', 'echo started\nsleep 120');
    await project.script('hello.sh', 'echo hello');
    // Cleans up for a second on SIGTERM, printing when it is done.
    await project.script(
      'tidy.sh',
      'trap "echo got TERM; sleep 1; echo cleaned up; exit 143" TERM\necho started\nwhile :; do sleep 0.2; done',
    );
    // Build once here, so that no test's time limit includes the image build.
    const build = await project.rp(['build', '--quiet']);
    expect(build.exitCode, build.stderr).toBe(0);
  });

  afterEach(async () => {
    // A failed test must not leave jobs holding the cores for the next one.
    await project?.stopJobs();
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('removes a waiting job from the queue; its rp run exits non-zero saying it was killed', async () => {
    // Given a job holding every core and a second one waiting behind it
    const holder = await startHolder();
    const waiter = project.startRun(['--script=hello.sh']);
    const id = await jobIdOf(waiter, WAIT_MS);
    await eventually(async () =>
      expect((await project.ledger()).jobs).toContainEqual(
        expect.objectContaining({ id, state: 'queued' }),
      ),
    );

    // When its owner kills the waiting one
    const killed = await project.rp(['kill', id]);

    // Then it has left the ledger with a 'killed' history line, and its rp run says so
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stdout).toBe(`killed queued job ${id} (root, ${projectName})`);
    const ended = await withTimeout(waiter, 60_000, 'the killed rp run to exit');
    expect(ended.exitCode).not.toBe(0);
    expect(ended.stderr).toMatch(new RegExp(`job ${id} was killed`));
    expect(ended.stdout).not.toContain('hello');
    expect((await project.ledger()).jobs.map((job) => job.id)).toEqual([holder.id]);
    expect(await project.history()).toContainEqual(
      expect.objectContaining({ id, ending: 'killed' }),
    );
  });

  it("stops a running job: its rp run exits with the container's signal code and releases it", async () => {
    const holder = await startHolder();

    const killed = await project.rp(['kill', `pid=${holder.id}`, '--json']);

    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(JSON.parse(killed.stdout)).toMatchObject({
      id: holder.id,
      action: 'stopped',
      state: 'running',
      cleanup: 'supervisor',
    });
    const ended = await withTimeout(holder.child, 60_000, 'the killed job to exit');
    expect(STOPPED_CODES).toContain(ended.exitCode);
    expect(await project.jobContainers(holder.id)).toEqual([]);
    expect((await project.ledger()).jobs).toEqual([]);
  });

  it('gives a running job the grace --grace says: its TERM cleanup runs with the default, not with --grace 0', async () => {
    const kill = async (grace: string[]): Promise<string> => {
      const child = project.startRun(['--script=tidy.sh', '--cpu', '2']);
      const [id] = await Promise.all([
        jobIdOf(child, WAIT_MS),
        waitForOutput(child, /started/, { timeoutMs: WAIT_MS }),
      ]);
      const killed = await project.rp(['kill', id, ...grace]);
      expect(killed.exitCode, killed.stderr).toBe(0);
      const ended = await withTimeout(child, 60_000, 'the killed job to exit');
      return String(ended.stdout);
    };
    // Given a job that needs a second to clean up on SIGTERM
    // When it is killed with the default grace of 10 s, Then its cleanup runs to the end
    expect(await kill([])).toContain('cleaned up');
    // When it is killed with --grace 0, Then it is SIGKILLed before its cleanup can end
    expect(await kill(['--grace', '0'])).not.toContain('cleaned up');
    expect((await project.ledger()).jobs).toEqual([]);
  });

  it('says an unknown job id is unknown (exit 3), and refuses a malformed one (exit 2)', async () => {
    const ids = new Set((await project.ledger()).jobs.map((job) => job.id));
    const unknown = ['9999', '9998', '9997'].find((id) => !ids.has(id)) as string;
    const missing = await project.rp(['kill', unknown]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain(unknown);
    expect(missing.stderr).toContain('rp ps');

    for (const args of [['pid='], ['12'], ['12345'], ['1234', '--pid', '4321'], []]) {
      const bad = await project.rp(['kill', ...args]);
      expect(bad.exitCode, `rp kill ${args.join(' ')}: ${bad.stderr}`).toBe(2);
    }
  });

  describe("another user's job", () => {
    let other: UnixUser;

    beforeAll(async () => {
      other = await createUnixUser('rpk');
    });
    afterAll(async () => {
      await removeUnixUser(other);
    });

    it('is refused (exit 3) and keeps running; root may kill it', async () => {
      // Given root's running job
      const holder = await startHolder();

      // When another user of the docker group tries to kill it
      const refused = await project.rp(['kill', holder.id], { asUser: other.name });

      // Then it is refused, saying whose job it is, and nothing changed
      expect(refused.exitCode, refused.stderr).toBe(3);
      expect(refused.stderr).toContain(`job ${holder.id} is root's`);
      expect((await project.ledger()).jobs).toContainEqual(
        expect.objectContaining({ id: holder.id, state: 'running' }),
      );
      const [container] = await project.jobContainers(holder.id);
      expect(container).toBeDefined();
      const state = await docker(['inspect', '-f', '{{.State.Running}}', container as string]);
      expect(state.stdout).toBe('true');
      expect(holder.child.exitCode).toBeNull();

      // and root may kill it
      const killed = await project.rp(['kill', '--pid', holder.id]);
      expect(killed.exitCode, killed.stderr).toBe(0);
      const ended = await withTimeout(holder.child, 60_000, 'the killed job to exit');
      expect(STOPPED_CODES).toContain(ended.exitCode);
      expect((await project.ledger()).jobs).toEqual([]);
    });
  });

  it("removes the container and the entry itself when the job's rp run was SIGKILLed", async () => {
    // Given a running job whose rp run died without cleaning up
    const holder = await startHolder();
    holder.child.kill('SIGKILL');
    await holder.child;
    expect(await project.jobContainers(holder.id)).toHaveLength(1);
    expect((await project.ledger()).jobs.map((job) => job.id)).toEqual([holder.id]);

    // When its owner kills it
    const killed = await project.rp(['kill', holder.id]);

    // Then nothing of it is left, and the history says it was killed
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stdout).toMatch(
      new RegExp(`^stopped running job ${holder.id} \\(root, ${projectName}\\).*rp run was gone`),
    );
    expect(await project.jobContainers(holder.id)).toEqual([]);
    expect((await project.ledger()).jobs).toEqual([]);
    const line = (await project.history()).findLast((record) => record.id === holder.id);
    expect(line).toMatchObject({ ending: 'killed' });
    expect(STOPPED_CODES).toContain(line?.exitCode);
  });
});

/** Retries `check` until it passes, failing with its last error after `timeoutMs`. */
async function eventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
