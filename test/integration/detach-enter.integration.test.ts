import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RP_BIN } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  editHostConfig,
  until,
  waitForOutput,
  type RpProject,
} from '../support/rp-project.js';

describe.skipIf(skipWithoutDocker)(
  'rp run --detach, rp logs and rp enter (real Docker engine)',
  () => {
    let project: RpProject;

    beforeAll(async () => {
      assertDockerForCi();
      project = await createRpProject('rp-detach-');
      await project.appendToHook('export FROM_HOOK=hooked');
    });

    afterAll(async () => {
      await project?.cleanup();
    });

    it('detaches at once, the job completes in the background, and rp logs shows its output', async () => {
      // This file's scripts are not executable, so rp runs them through bash.
      await project.script('slow.sh', 'echo "first $1"\nsleep 2\necho "second $FROM_HOOK"', {
        executable: false,
      });
      const started = Date.now();
      const result = await project.rp(['run', '--script=slow.sh bg', '--detach']);
      expect(result.exitCode, result.stderr).toBe(0);
      const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1];
      expect(id, result.stdout).toBeDefined();
      // The parent returned while the job still runs (its script sleeps 2 s after a first line).
      const live = (await project.ledger()).jobs.find((job) => job.id === id);
      expect(
        live,
        `job ${id} should still be live ${Date.now() - started} ms after submission`,
      ).toBeDefined();

      // `rp logs -f` follows it to its end.
      const followed = await project.rp(['logs', id as string, '-f']);
      expect(followed.exitCode, followed.stderr).toBe(0);
      expect(followed.stdout).toContain('first bg');
      expect(followed.stdout).toContain('second hooked');

      // Finished: slot released, history kept, logs still readable.
      expect((await project.ledger()).jobs).toEqual([]);
      const history = await project.history();
      expect(history.find((record) => record.id === id)).toMatchObject({
        ending: 'exited',
        exitCode: 0,
      });
      const after = await project.rp(['logs', id as string]);
      expect(after.stdout).toContain('second hooked');
    });

    it('survives the terminal going away: the supervisor is in its own session', async () => {
      await project.script('wait.sh', 'sleep 3\necho survived', { executable: false });
      // setsid + a pty that closes right after the command returns: the same as an ssh session ending.
      const result = await execa(
        'script',
        [
          '-qec',
          `RP_HOME=${project.rpHome} ${process.execPath} ${RP_BIN} run --script=wait.sh --detach`,
          '/dev/null',
        ],
        { cwd: project.dir, reject: false },
      );
      expect(result.exitCode, result.stdout).toBe(0);
      const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1] as string;
      await until('the job to finish', async () =>
        (await project.ledger()).jobs.some((job) => job.id === id) ? undefined : true,
      );
      expect((await project.rp(['logs', id])).stdout).toContain('survived');
    });

    it('says which jobs have no log file and which ids do not exist', async () => {
      await project.script('quick.sh', 'true', { executable: false });
      expect((await project.rp(['run', '--script=quick.sh'])).exitCode).toBe(0);
      const quickId = (await project.history()).at(-1)?.id as string;
      const noLog = await project.rp(['logs', quickId]);
      expect(noLog.exitCode).toBe(3);
      expect(noLog.stderr).toContain('keeps no log file');
      const unknown = await project.rp(['logs', '0999']);
      expect(unknown.exitCode).toBe(3);
      expect((await project.rp(['logs', 'abc'])).exitCode).toBe(2);
    });

    it('rp enter --time stops the shell at its limit and exits 124', async () => {
      await editHostConfig(project.rpHome, (config) => {
        config.limits = { killWaitSeconds: 1 };
      });
      // An interactive bash ignores SIGTERM: the kill wait's SIGKILL ends it.
      const enter = `stty cols 80 rows 24; RP_HOME=${project.rpHome} ${process.execPath} ${RP_BIN} enter --time 3s`;
      const session = execa('script', ['-qfec', enter, '/dev/null'], {
        cwd: project.dir,
        reject: false,
        stdin: 'pipe',
      });
      await waitForOutput(session, /running: [\s\S]*time limit 3s/, { timeoutMs: 120_000 });
      const result = await session;
      expect(result.exitCode, result.stdout).toBe(124);
      expect(result.stdout).toContain('reached its time limit of 3s');
      expect((await project.ledger()).jobs).toEqual([]);
    });

    it('rp enter gives a shell as the host user that sees the bashhook exports, and passes its exit code', async () => {
      // `script` gives rp a pseudo-terminal; what reaches script's stdin is typed into the shell.
      // Type only once the shell's prompt shows: typed earlier, it could be lost or answered late.
      const enter = `stty cols 80 rows 24; RP_HOME=${project.rpHome} ${process.execPath} ${RP_BIN} enter`;
      const session = execa('script', ['-qfec', enter, '/dev/null'], {
        cwd: project.dir,
        reject: false,
        stdin: 'pipe',
      });
      await waitForOutput(session, /running: [\s\S]*[#$] $/, { timeoutMs: 120_000 });
      session.stdin?.write('echo "who=$(id -u):$(id -g) hook=$FROM_HOOK"; exit 7\r');
      const result = await session;
      expect(result.exitCode, result.stdout).toBe(7);
      expect(result.stdout).toContain(
        `who=${process.getuid?.()}:${process.getgid?.()} hook=hooked`,
      );
      expect((await project.ledger()).jobs).toEqual([]);
    });

    it('rp enter refuses without a terminal, before queueing', async () => {
      const result = await project.rp(['enter']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('needs an interactive terminal');
      expect((await project.ledger()).jobs).toEqual([]);
    });
  },
);
