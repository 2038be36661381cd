import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp, RP_BIN } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  docker,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';

interface Ledger {
  jobs: Array<{ id: string; state: string; supervisor: { pid: number } }>;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(skipWithoutDocker)(
  'rp run --detach, rp logs and rp enter (real Docker engine)',
  () => {
    let dir: string;
    let rpHome: string;
    let cleanup: () => Promise<void>;
    let env: Record<string, string>;

    const ledger = async (): Promise<Ledger> =>
      JSON.parse(await readFile(join(rpHome, 'ledger.json'), 'utf8')) as Ledger;

    beforeAll(async () => {
      assertDockerForCi();
      ({ dir, cleanup } = await makeTempDir('rp-detach-'));
      rpHome = join(dir, '.host');
      env = { RP_HOME: rpHome };
      expect((await rp(['host', 'init'], { cwd: dir, env })).exitCode).toBe(0);
      const init = await rp(
        ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.5'],
        { cwd: dir, env },
      );
      expect(init.exitCode, init.stderr).toBe(0);
      const hook = join(dir, 'docker/bashhook.sh');
      await writeFile(hook, `${await readFile(hook, 'utf8')}export FROM_HOOK=hooked\n`);
    });

    afterAll(async () => {
      const leftovers = (
        await docker(['ps', '-aq', '--filter', `label=rp.project-path=${dir}`])
      ).stdout
        .split('\n')
        .filter(Boolean);
      if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
      await removeProjectImages(dir);
      await cleanup();
    });

    it('detaches at once, the job completes in the background, and rp logs shows its output', async () => {
      await writeFile(
        join(dir, 'slow.sh'),
        '#!/bin/bash\necho "first $1"\nsleep 2\necho "second $FROM_HOOK"\n',
      );
      const started = Date.now();
      const result = await rp(['run', '--script=slow.sh bg', '--detach'], { cwd: dir, env });
      expect(result.exitCode, result.stderr).toBe(0);
      const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1];
      expect(id, result.stdout).toBeDefined();
      // The parent returned while the job still runs (its script sleeps 2 s after a first line).
      const live = (await ledger()).jobs.find((job) => job.id === id);
      expect(
        live,
        `job ${id} should still be live ${Date.now() - started} ms after submission`,
      ).toBeDefined();

      // `rp logs -f` follows it to its end.
      const followed = await rp(['logs', id as string, '-f'], { cwd: dir, env });
      expect(followed.exitCode, followed.stderr).toBe(0);
      expect(followed.stdout).toContain('first bg');
      expect(followed.stdout).toContain('second hooked');

      // Finished: slot released, history kept, logs still readable.
      expect((await ledger()).jobs).toEqual([]);
      const history = (await readFile(join(rpHome, 'history.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; ending: string; exitCode: number });
      expect(history.find((record) => record.id === id)).toMatchObject({
        ending: 'exited',
        exitCode: 0,
      });
      const after = await rp(['logs', id as string], { cwd: dir, env });
      expect(after.stdout).toContain('second hooked');
    });

    it('survives the terminal going away: the supervisor is in its own session', async () => {
      await writeFile(join(dir, 'wait.sh'), '#!/bin/bash\nsleep 3\necho survived\n');
      // setsid + a pty that closes right after the command returns: the same as an ssh session ending.
      const result = await execa(
        'script',
        [
          '-qec',
          `RP_HOME=${rpHome} ${process.execPath} ${RP_BIN} run --script=wait.sh --detach`,
          '/dev/null',
        ],
        { cwd: dir, reject: false },
      );
      expect(result.exitCode, result.stdout).toBe(0);
      const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1] as string;
      await until('the job to finish', async () =>
        (await ledger()).jobs.some((job) => job.id === id) ? undefined : true,
      );
      expect((await rp(['logs', id], { cwd: dir, env })).stdout).toContain('survived');
    });

    it('says which jobs have no log file and which ids do not exist', async () => {
      await writeFile(join(dir, 'quick.sh'), '#!/bin/bash\ntrue\n');
      expect((await rp(['run', '--script=quick.sh'], { cwd: dir, env })).exitCode).toBe(0);
      const history = (await readFile(join(rpHome, 'history.jsonl'), 'utf8')).trim().split('\n');
      const quickId = (JSON.parse(history.at(-1) as string) as { id: string }).id;
      const noLog = await rp(['logs', quickId], { cwd: dir, env });
      expect(noLog.exitCode).toBe(3);
      expect(noLog.stderr).toContain('keeps no log file');
      const unknown = await rp(['logs', '0999'], { cwd: dir, env });
      expect(unknown.exitCode).toBe(3);
      expect((await rp(['logs', 'abc'], { cwd: dir, env })).exitCode).toBe(2);
    });

    it('rp enter gives a shell as the host user that sees the bashhook exports, and passes its exit code', async () => {
      // `script` gives rp a pseudo-terminal; what reaches script's stdin is typed into the shell,
      // once the container's shell has had time to start (typed earlier, it would be lost).
      const typed = String.raw`echo "who=$(id -u):$(id -g) hook=$FROM_HOOK"; exit 7\r`;
      const enter = `stty cols 80 rows 24; RP_HOME=${rpHome} ${process.execPath} ${RP_BIN} enter`;
      const result = await execa(
        'bash',
        ['-c', `(sleep 6; printf '${typed}'; sleep 8) | script -qec "${enter}" /dev/null`],
        {
          cwd: dir,
          reject: false,
        },
      );
      expect(result.exitCode, result.stdout).toBe(7);
      expect(result.stdout).toContain(
        `who=${process.getuid?.()}:${process.getgid?.()} hook=hooked`,
      );
      expect((await ledger()).jobs).toEqual([]);
    });

    it('rp enter refuses without a terminal, before queueing', async () => {
      const result = await rp(['enter'], { cwd: dir, env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('needs an interactive terminal');
      expect((await ledger()).jobs).toEqual([]);
    });
  },
);
