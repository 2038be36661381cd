import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryRecord, JobEntry, LedgerState } from '../../src/core/ledger-state.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { RP_BIN, type RpResult } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  jobIdOf,
  type RpProject,
  until,
  waitForOutput,
  withTimeout,
} from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

/** How long a background `rp run` may take to print what a test waits for (builds included). */
const WAIT_MS = 120_000;
/**
 * How long an `--adopt` attempt may take: it builds the caller's image first, so another user's
 * attempt builds a whole image. An attempt that took the job over would wait in the queue for as
 * long as the blocker holds the core; it is killed after this and fails the test, not hangs it.
 */
const ADOPT_MS = 180_000;

/**
 * `rp run --adopt ID:SEQ` is the entry point of the background supervisor that `rp run --detach`
 * starts: it makes the calling process the supervisor of a queued job. Only that supervisor may
 * use it, for its own user's job: nobody takes over someone else's job.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)(
  'rp run --adopt: no taking over a job (real Docker engine, real second user)',
  () => {
    let project: RpProject;
    let other: UnixUser;

    const ledger = async (): Promise<LedgerState> =>
      JSON.parse(await readFile(ledgerPaths(project.rpHome).ledger, 'utf8')) as LedgerState;
    const entryOf = async (id: string): Promise<JobEntry | undefined> =>
      (await ledger()).jobs.find((job) => job.id === id);
    const history = async (): Promise<HistoryRecord[]> =>
      (await readFile(ledgerPaths(project.rpHome).history, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as HistoryRecord);

    /** `rp run --adopt ...` in the project, as `asUser` (root unless told), killed after ADOPT_MS. */
    const adopt = async (key: string, asUser?: string): Promise<RpResult> => {
      const rpArgs = [RP_BIN, 'run', '--script=hello.sh', '--adopt', key];
      const [command, args] = asUser
        ? ['runuser', ['-u', asUser, '--', process.execPath, ...rpArgs]]
        : [process.execPath, rpArgs];
      const result = await execa(command, args, {
        cwd: project.dir,
        env: { NO_COLOR: '1', ...project.env },
        reject: false,
        stdin: 'ignore',
        timeout: ADOPT_MS,
      });
      return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
    };

    beforeAll(async () => {
      assertDockerForCi();
      other = await createUnixUser('rpa');
      project = await createRpProject('rp-adopt-', {
        // The other user must reach $RP_HOME and the project's files inside this folder.
        dirMode: 0o755,
        // One core: a job holding it keeps the next one waiting in the queue.
        hostConfig: (config) => {
          config.capacity.cpus = 1;
        },
      });
      await project.script('hold.sh', 'echo started\nsleep 300');
      await project.script('hello.sh', 'echo hello from the job');
      // Build once here, so that no wait below includes root's image build.
      const build = await project.rp(['build', '--quiet']);
      expect(build.exitCode, build.stderr).toBe(0);
    });

    afterEach(async () => {
      // A failed test must not leave a job holding the core for the next one.
      await project?.stopJobs();
    });

    afterAll(async () => {
      await project?.cleanup();
      if (other) await removeUnixUser(other);
    });

    it("refuses another user, the owner's other processes and a key without seq; the job still runs", async () => {
      // Given root's job waiting in the queue behind a job that holds the only core, supervised
      // by its own foreground rp run,
      const blocker = project.startRun(['--script=hold.sh']);
      await waitForOutput(blocker, /started/, { timeoutMs: WAIT_MS });
      const waiter = project.startRun(['--script=hello.sh']);
      const id = await jobIdOf(waiter, WAIT_MS);
      const queued = await until(`job ${id} to be queued`, async () => {
        const entry = await entryOf(id);
        return entry?.state === 'queued' ? entry : undefined;
      });
      expect(queued).toMatchObject({ user: 'root', uid: 0, supervisor: { pid: waiter.pid } });
      const key = `${queued.id}:${queued.seq}`;

      // When another user asks to supervise it,
      const byOther = await adopt(key, other.name);

      // Then they are refused (exit 3), told whose job it is, and the entry is as it was: its
      // supervisor is still root's rp run. Before this check, --adopt (then given the bare id)
      // made ANY caller the supervisor of the job: the other user's process took the job over
      // and waited in the queue in its place (killed after ADOPT_MS, so the exit code was not 3)
      // and the entry's supervisor changed. (The old rp, given ID:SEQ, found no such job and
      // exited 143: that fails here too.)
      expect(byOther.exitCode, byOther.stderr).toBe(3);
      expect(byOther.stderr).toContain(
        `job ${id} cannot be supervised by this process: it is root's (uid 0)`,
      );
      expect(byOther.stderr).toContain(`you are ${other.name} (uid ${other.uid})`);
      expect(await entryOf(id)).toEqual(queued);

      // When root, the job's own user, asks from a process the job's supervisor did not start
      // (this test, not its rp run),
      const byOwner = await adopt(key);

      // Then that is refused as well (exit 3), naming the supervisor, and nothing changed.
      // Before, the owner's stray process took the job over (exit code not 3, supervisor changed).
      expect(byOwner.exitCode, byOwner.stderr).toBe(3);
      expect(byOwner.stderr).toContain(
        `it is supervised by process ${waiter.pid}, which did not start this one`,
      );
      expect(await entryOf(id)).toEqual(queued);

      // When --adopt names the job by its id alone, as it did before ids were paired with seqs,
      const noSeq = await adopt(id);

      // Then it is a usage error (exit 2) that changes nothing. Before, the bare id was what
      // --adopt took: this very call made the test process the job's supervisor, and it waited
      // in the queue (killed after ADOPT_MS, exit code not 2).
      expect(noSeq.exitCode, noSeq.stderr).toBe(2);
      expect(noSeq.stderr).toContain(`--adopt ${id}: expected ID:SEQ`);
      expect(await entryOf(id)).toEqual(queued);

      // When the blocker stops, the job runs under its own rp run, to the end.
      blocker.kill('SIGINT');
      expect((await blocker).exitCode).toBe(130);
      const ran = await withTimeout(waiter, WAIT_MS, 'the waiting job to run');
      expect(ran.exitCode, ran.stderr).toBe(0);
      expect(ran.stdout).toContain('hello from the job');
      expect(await entryOf(id)).toBeUndefined();
    });

    it('still lets the supervisor that rp run --detach starts take its job over', async () => {
      // Given nothing else in the queue,
      // When root queues a job with --detach (which returns only once its supervisor, a child
      // of it, has taken the job over),
      const detached = await project.rp(['run', '--detach', '--script=hello.sh']);

      // Then the supervisor was let in, and ran the job to its end.
      expect(detached.exitCode, detached.stderr).toBe(0);
      const id = /waiting to be scheduled as rp(\d{4})/.exec(detached.stderr)?.[1] as string;
      expect(id).toMatch(/^\d{4}$/);
      const ended = await until(`job ${id} to end`, async () =>
        (await history()).findLast((record) => record.id === id),
      );
      expect(ended).toMatchObject({ ending: 'exited', exitCode: 0 });
      expect(await readFile(ended.logFile as string, 'utf8')).toContain('hello from the job');
    });
  },
);
