import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
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

/** The parts of `rp ps --json` / `rp queue --json` these tests read. */
interface RunningJson {
  id: string;
  name: string;
  user: string;
  project: string;
  state: string;
  gpus: number[];
  cpus: number[];
  memoryMb: number;
  startedAt: string | null;
  runningMs: number;
}
interface QueuedJson {
  position: number;
  id: string;
  user: string;
  project: string;
  request: { gpus: number; cpus: number; memoryMb: number };
  status: string;
  waitingFor: string;
  submittedAt: string;
}
interface PsJson {
  capacity: { gpus: number[]; cpus: number[]; memoryMb: number };
  used: { gpus: number[]; cpus: number[]; memoryMb: number };
  running: RunningJson[];
  queue: QueuedJson[];
}
interface LedgerJson {
  jobs: Array<{ id: string; state: string }>;
}

type Child = ReturnType<typeof execa>;

const WAIT_MS = 60_000;

describe.skipIf(skipWithoutDocker)('rp ps / rp status / rp queue (real Docker engine)', () => {
  let dir: string;
  let rpHome: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  let cores: number;
  let user: string;
  let projectName: string;
  const children: Child[] = [];

  const cli = (args: string[]) => rp(args, { cwd: dir, env });
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await cli([...args, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const ledger = async (): Promise<LedgerJson> =>
    JSON.parse(await readFile(join(rpHome, 'ledger.json'), 'utf8')) as LedgerJson;
  const jobContainers = async (): Promise<string[]> =>
    (await docker(['ps', '-aq', '--filter', `label=rp.project-path=${dir}`])).stdout
      .split('\n')
      .filter(Boolean);

  /** `rp run` in the background, as a user in another terminal would start it. */
  const startRun = (args: string[]): Child => {
    const child = execa(process.execPath, [RP_BIN, 'run', ...args], {
      cwd: dir,
      env: { NO_COLOR: '1', ...env },
      reject: false,
      stdin: 'ignore',
    });
    children.push(child);
    return child;
  };

  /** Polls `rp queue --json` until `accept` holds; fails with the last answer after WAIT_MS. */
  const waitForQueue = async (accept: (queue: QueuedJson[]) => boolean): Promise<QueuedJson[]> => {
    const deadline = Date.now() + WAIT_MS;
    let last: QueuedJson[] = [];
    while (Date.now() < deadline) {
      last = (await json<{ queue: QueuedJson[] }>(['queue'])).queue;
      if (accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for the queue; last saw: ${JSON.stringify(last)}`);
  };

  beforeAll(async () => {
    assertDockerForCi();
    ({ dir, cleanup } = await makeTempDir('rp-status-'));
    rpHome = join(dir, '.host');
    env = { RP_HOME: rpHome };
    expect((await cli(['host', 'init'])).exitCode).toBe(0);
    const init = await cli([
      'init',
      '--base',
      BASE_IMAGE,
      '--cpu',
      '1',
      '--gpu',
      '0',
      '--mem',
      '0.5',
    ]);
    expect(init.exitCode, init.stderr).toBe(0);
    await writeFile(join(dir, 'hold.sh'), '#!/bin/bash\necho started\nsleep 120\n', {
      mode: 0o755,
    });
    const host = JSON.parse((await cli(['host', 'show', '--json'])).stdout) as {
      capacity: { cpus: number[] };
    };
    cores = host.capacity.cpus.length;
    const info = JSON.parse(await readFile(join(dir, '.rp/info.json'), 'utf8')) as {
      name: string;
      username: string;
    };
    projectName = info.name;
    user = info.username;
  });

  afterEach(async () => {
    // A failed test must not leave a job holding the host for the next one.
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child;
    }
    const leftovers = await jobContainers();
    if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
  });

  afterAll(async () => {
    await removeProjectImages(dir);
    await cleanup();
  });

  it('shows an idle host: nothing running, an empty queue', async () => {
    const ps = await cli(['ps']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect(ps.stdout).toContain(`CPUs    0 of ${cores} in use`);
    expect(ps.stdout).toContain('No jobs are running.');
    expect(ps.stdout).toContain('The queue is empty.');
    const queue = await cli(['queue']);
    expect(queue.stdout).toBe('The queue is empty.');
    expect(await json<PsJson>(['ps'])).toMatchObject({ running: [], queue: [] });
  });

  it('lists the running job and the job waiting for its cores, then nothing once both are stopped', async () => {
    // Given one job holding every core and a second one waiting for a core,
    const holder = startRun(['--script=hold.sh', '--cpu', String(cores)]);
    await waitForOutput(holder, /started/);
    const waiter = startRun(['--script=hold.sh', '--cpu', '1']);
    const [waiting] = await waitForQueue((queue) => queue.length === 1);

    // `rp ps --json` lists the running job with what it holds, and the waiting one first in line,
    const ps = await json<PsJson>(['ps']);
    expect(ps.running).toHaveLength(1);
    const [running] = ps.running;
    expect(running).toMatchObject({
      name: `rp${running?.id}`,
      user,
      project: projectName,
      state: 'running',
      gpus: [],
      cpus: ps.capacity.cpus,
      memoryMb: 512,
    });
    expect(running?.id).toMatch(/^\d{4}$/);
    expect(Date.parse(running?.startedAt ?? '')).not.toBeNaN();
    expect(ps.used).toEqual({ gpus: [], cpus: ps.capacity.cpus, memoryMb: 512 });
    expect(ps.queue).toHaveLength(1);
    expect(ps.queue[0]).toMatchObject({
      position: 1,
      id: waiting?.id,
      user,
      project: projectName,
      request: { gpus: 0, cpus: 1, memoryMb: 512 },
    });
    expect(ps.queue[0]?.waitingFor).toMatch(/CPU/);
    expect(waiting?.id).not.toBe(running?.id);

    // `rp queue` shows the waiting job to people,
    const queue = await cli(['queue']);
    expect(queue.exitCode, queue.stderr).toBe(0);
    expect(queue.stdout.split('\n')[0]).toMatch(/^#\s+ID\s+USER\s+PROJECT\s+REQUEST/);
    expect(queue.stdout).toMatch(new RegExp(`^1\\s+${waiting?.id}\\s`, 'm'));
    expect(queue.stdout).toContain('0 GPUs, 1 CPU, 512 MB');

    // and `rp status` is `rp ps`, with both jobs in its tables.
    const status = await cli(['status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain(`CPUs    ${cores} of ${cores} in use`);
    expect(status.stdout).toMatch(
      new RegExp(`^${running?.id}\\s+rp${running?.id}\\s+${user}\\s`, 'm'),
    );
    expect(status.stdout).toContain('Queue (1 job)');
    expect(status.stdout).toMatch(new RegExp(`^1\\s+${waiting?.id}\\s`, 'm'));

    // When both are stopped with Ctrl+C, nothing is left to list.
    waiter.kill('SIGINT');
    expect((await waiter).exitCode).toBe(130);
    holder.kill('SIGINT');
    expect((await holder).exitCode).toBe(130);
    expect(await json<{ queue: QueuedJson[] }>(['queue'])).toEqual({ queue: [] });
    const after = await json<PsJson>(['ps']);
    expect(after.running).toEqual([]);
    expect(after.used).toEqual({ gpus: [], cpus: [], memoryMb: 0 });
  });

  it('reaps a queued job whose rp process was killed, and does not list it', async () => {
    // Given a job waiting behind one that holds every core,
    const holder = startRun(['--script=hold.sh', '--cpu', String(cores)]);
    await waitForOutput(holder, /started/);
    const waiter = startRun(['--script=hold.sh', '--cpu', '1']);
    const [waiting] = await waitForQueue((queue) => queue.length === 1);
    const id = waiting?.id as string;

    // whose rp process is SIGKILLed, so that nothing of it removes its entry,
    waiter.kill('SIGKILL');
    await waiter;
    expect((await ledger()).jobs.map((job) => job.id)).toContain(id);

    // `rp ps` removes the dead entry before listing,
    const ps = await json<PsJson>(['ps']);
    expect(ps.queue.map((job) => job.id)).not.toContain(id);
    expect(ps.running.map((job) => job.id)).not.toContain(id);
    expect(ps.running).toHaveLength(1);
    expect((await ledger()).jobs.map((job) => job.id)).not.toContain(id);
    const history = (await readFile(join(rpHome, 'history.jsonl'), 'utf8')).trim().split('\n');
    const records = history.map((line) => JSON.parse(line) as { id: string; ending: string });
    expect(records.filter((record) => record.id === id).map((r) => r.ending)).toEqual(['reaped']);

    holder.kill('SIGINT');
    expect((await holder).exitCode).toBe(130);
  });
});

/** Resolves once `pattern` appears on the child's stdout; fails after WAIT_MS or if it exits. */
async function waitForOutput(child: Child, pattern: RegExp): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; saw: ${seen}`)),
      WAIT_MS,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`rp run exited (${result.exitCode}) before ${pattern}: ${result.stderr}`));
    });
  });
}
