import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, until, waitForOutput, type RpProject } from '../support/rp-project.js';

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
const WAIT_MS = 60_000;

describe.skipIf(skipWithoutDocker)('rp ps / rp status / rp queue (real Docker engine)', () => {
  let project: RpProject;
  let cores: number;
  let user: string;
  let projectName: string;

  const cli = (args: string[]) => project.rp(args);
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await cli([...args, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };

  /** Polls `rp queue --json` until `accept` holds; fails with the last answer after WAIT_MS. */
  const waitForQueue = async (accept: (queue: QueuedJson[]) => boolean): Promise<QueuedJson[]> => {
    let last: QueuedJson[] = [];
    return until(
      () => `the queue; last saw: ${JSON.stringify(last)}`,
      async () => {
        last = (await json<{ queue: QueuedJson[] }>(['queue'])).queue;
        return accept(last) ? last : undefined;
      },
      WAIT_MS,
    );
  };

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-status-');
    await project.script('hold.sh', 'echo started\nsleep 120');
    const host = JSON.parse((await cli(['host', 'show', '--json'])).stdout) as {
      capacity: { cpus: number[] };
    };
    cores = host.capacity.cpus.length;
    const info = await project.info();
    projectName = info.name;
    user = info.username;
  });

  afterEach(async () => {
    // A failed test must not leave a job holding the host for the next one.
    await project?.stopJobs();
  });

  afterAll(async () => {
    await project?.cleanup();
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
    const holder = project.startRun(['--script=hold.sh', '--cpu', String(cores)]);
    await waitForOutput(holder, /started/, { timeoutMs: WAIT_MS });
    const waiter = project.startRun(['--script=hold.sh', '--cpu', '1']);
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
    const holder = project.startRun(['--script=hold.sh', '--cpu', String(cores)]);
    await waitForOutput(holder, /started/, { timeoutMs: WAIT_MS });
    const waiter = project.startRun(['--script=hold.sh', '--cpu', '1']);
    const [waiting] = await waitForQueue((queue) => queue.length === 1);
    const id = waiting?.id as string;

    // whose rp process is SIGKILLed, so that nothing of it removes its entry,
    waiter.kill('SIGKILL');
    await waiter;
    expect((await project.ledger()).jobs.map((job) => job.id)).toContain(id);

    // `rp ps` removes the dead entry before listing,
    const ps = await json<PsJson>(['ps']);
    expect(ps.queue.map((job) => job.id)).not.toContain(id);
    expect(ps.running.map((job) => job.id)).not.toContain(id);
    expect(ps.running).toHaveLength(1);
    expect((await project.ledger()).jobs.map((job) => job.id)).not.toContain(id);
    const records = await project.history();
    expect(records.filter((record) => record.id === id).map((r) => r.ending)).toEqual(['reaped']);

    holder.kill('SIGINT');
    expect((await holder).exitCode).toBe(130);
  });
});
