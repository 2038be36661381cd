import { execa, type ResultPromise } from 'execa';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rp, RP_BIN } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  docker,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface Ledger {
  jobs: Array<{ id: string; state: string; user: string }>;
}

interface HistoryLine {
  id: string;
  ending: string;
  exitCode?: number;
}

/** What a stopped container may exit with: SIGTERM, or SIGKILL after the grace period. */
const STOPPED_CODES = [143, 137];

describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp kill (real Docker engine)', () => {
  let dir: string;
  let rpHome: string;
  let projectName: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  const children: ResultPromise[] = [];

  const ledger = async (): Promise<Ledger> =>
    JSON.parse(await readFile(join(rpHome, 'ledger.json'), 'utf8')) as Ledger;
  const history = async (): Promise<HistoryLine[]> =>
    (await readFile(join(rpHome, 'history.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as HistoryLine);
  const containersOf = async (id: string): Promise<string[]> =>
    (
      await docker([
        'ps',
        '-aq',
        '--filter',
        `label=rp.project-path=${dir}`,
        '--filter',
        `label=rp.job=${id}`,
      ])
    ).stdout
      .split('\n')
      .filter(Boolean);

  /** `rp run` in the background, as a user would start it in another terminal. */
  function startRun(args: string[]): ResultPromise<{ cwd: string; reject: false }> {
    const child = execa(process.execPath, [RP_BIN, 'run', ...args], {
      cwd: dir,
      env,
      reject: false,
    });
    children.push(child);
    return child;
  }

  /** A job holding every core of the test host, running until it is stopped. */
  async function startHolder(): Promise<{ child: ResultPromise; id: string }> {
    const child = startRun(['--script=hold.sh', '--cpu', '2']);
    const [id] = await Promise.all([jobIdOf(child), waitForOutput(child, 'stdout', /started/)]);
    expect((await ledger()).jobs).toContainEqual(expect.objectContaining({ id, state: 'running' }));
    return { child, id };
  }

  beforeAll(async () => {
    assertDockerForCi();
    ({ dir, cleanup } = await makeTempDir('rp-kill-'));
    // The other user of the "another user's job" test must reach $RP_HOME inside this folder.
    await chmod(dir, 0o755);
    rpHome = join(dir, '.host');
    env = { RP_HOME: rpHome };
    expect((await rp(['host', 'init'], { cwd: dir, env })).exitCode).toBe(0);
    // Two cores whatever the machine has, so that `--cpu 2` holds all of them.
    const configPath = join(rpHome, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as {
      capacity: Record<string, unknown>;
    };
    config.capacity.cpus = 2;
    await writeFile(configPath, JSON.stringify(config, null, 2));
    const init = await rp(
      ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.5'],
      { cwd: dir, env },
    );
    expect(init.exitCode, init.stderr).toBe(0);
    projectName = (
      JSON.parse(await readFile(join(dir, '.rp/info.json'), 'utf8')) as { name: string }
    ).name;
    await writeFile(join(dir, 'hold.sh'), '#!/bin/bash\necho started\nsleep 120\n', {
      mode: 0o755,
    });
    await writeFile(join(dir, 'hello.sh'), '#!/bin/bash\necho hello\n', { mode: 0o755 });
    // Build once here, so that no test's time limit includes the image build.
    const build = await rp(['build', '--quiet'], { cwd: dir, env });
    expect(build.exitCode, build.stderr).toBe(0);
  });

  afterEach(async () => {
    // A failed test must not leave jobs holding the cores for the next one.
    for (const child of children.splice(0)) {
      if (child.exitCode === null) child.kill('SIGKILL');
      await child;
    }
    const leftovers = await docker(['ps', '-aq', '--filter', `label=rp.project-path=${dir}`]);
    const ids = leftovers.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await docker(['rm', '-f', ...ids]);
  });

  afterAll(async () => {
    await removeProjectImages(dir);
    await cleanup();
  });

  it('removes a waiting job from the queue; its rp run exits non-zero saying it was killed', async () => {
    // Given a job holding every core and a second one waiting behind it
    const holder = await startHolder();
    const waiter = startRun(['--script=hello.sh']);
    const id = await jobIdOf(waiter);
    await eventually(async () =>
      expect((await ledger()).jobs).toContainEqual(
        expect.objectContaining({ id, state: 'queued' }),
      ),
    );

    // When its owner kills the waiting one
    const killed = await rp(['kill', id], { cwd: dir, env });

    // Then it has left the ledger with a 'killed' history line, and its rp run says so
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stdout).toBe(`killed queued job ${id} (root, ${projectName})`);
    const ended = await withTimeout(waiter, 60_000, 'the killed rp run to exit');
    expect(ended.exitCode).not.toBe(0);
    expect(ended.stderr).toMatch(new RegExp(`job ${id} was killed`));
    expect(ended.stdout).not.toContain('hello');
    expect((await ledger()).jobs.map((job) => job.id)).toEqual([holder.id]);
    expect(await history()).toContainEqual(expect.objectContaining({ id, ending: 'killed' }));
  });

  it("stops a running job: its rp run exits with the container's signal code and releases it", async () => {
    const holder = await startHolder();

    const killed = await rp(['kill', `pid=${holder.id}`, '--json'], { cwd: dir, env });

    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(JSON.parse(killed.stdout)).toMatchObject({
      id: holder.id,
      action: 'stopped',
      state: 'running',
      cleanup: 'supervisor',
    });
    const ended = await withTimeout(holder.child, 60_000, 'the killed job to exit');
    expect(STOPPED_CODES).toContain(ended.exitCode);
    expect(await containersOf(holder.id)).toEqual([]);
    expect((await ledger()).jobs).toEqual([]);
  });

  it('says an unknown job id is unknown (exit 3), and refuses a malformed one (exit 2)', async () => {
    const ids = new Set((await ledger()).jobs.map((job) => job.id));
    const unknown = ['9999', '9998', '9997'].find((id) => !ids.has(id)) as string;
    const missing = await rp(['kill', unknown], { cwd: dir, env });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain(unknown);
    expect(missing.stderr).toContain('rp ps');

    for (const args of [['pid='], ['12'], ['12345'], ['1234', '--pid', '4321'], []]) {
      const bad = await rp(['kill', ...args], { cwd: dir, env });
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
      const refused = await rp(['kill', holder.id], { cwd: dir, env, asUser: other.name });

      // Then it is refused, saying whose job it is, and nothing changed
      expect(refused.exitCode, refused.stderr).toBe(3);
      expect(refused.stderr).toContain(`job ${holder.id} is root's`);
      expect((await ledger()).jobs).toContainEqual(
        expect.objectContaining({ id: holder.id, state: 'running' }),
      );
      const [container] = await containersOf(holder.id);
      expect(container).toBeDefined();
      const state = await docker(['inspect', '-f', '{{.State.Running}}', container as string]);
      expect(state.stdout).toBe('true');
      expect(holder.child.exitCode).toBeNull();

      // and root may kill it
      const killed = await rp(['kill', '--pid', holder.id], { cwd: dir, env });
      expect(killed.exitCode, killed.stderr).toBe(0);
      const ended = await withTimeout(holder.child, 60_000, 'the killed job to exit');
      expect(STOPPED_CODES).toContain(ended.exitCode);
      expect((await ledger()).jobs).toEqual([]);
    });
  });

  it("removes the container and the entry itself when the job's rp run was SIGKILLed", async () => {
    // Given a running job whose rp run died without cleaning up
    const holder = await startHolder();
    holder.child.kill('SIGKILL');
    await holder.child;
    expect(await containersOf(holder.id)).toHaveLength(1);
    expect((await ledger()).jobs.map((job) => job.id)).toEqual([holder.id]);

    // When its owner kills it
    const killed = await rp(['kill', holder.id], { cwd: dir, env });

    // Then nothing of it is left, and the history says it was killed
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stdout).toMatch(
      new RegExp(`^stopped running job ${holder.id} \\(root, ${projectName}\\).*rp run was gone`),
    );
    expect(await containersOf(holder.id)).toEqual([]);
    expect((await ledger()).jobs).toEqual([]);
    const line = (await history()).findLast((record) => record.id === holder.id);
    expect(line).toMatchObject({ ending: 'killed' });
    expect(STOPPED_CODES).toContain(line?.exitCode);
  });
});

/** The job id an `rp run` prints on stderr once it is queued. */
async function jobIdOf(child: ResultPromise): Promise<string> {
  const match = await waitForOutput(child, 'stderr', /waiting to be scheduled as rp(\d{4})/);
  return match[1] as string;
}

async function waitForOutput(
  child: ResultPromise,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern} on ${stream}; saw: ${seen}`)),
      120_000,
    );
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        child[stream]?.off('data', onData);
        resolve(match);
      }
    };
    child[stream]?.on('data', onData);
    void child.then(() => {
      clearTimeout(timer);
      reject(new Error(`the process exited before printing ${pattern} on ${stream}; saw: ${seen}`));
    });
  });
}

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

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
