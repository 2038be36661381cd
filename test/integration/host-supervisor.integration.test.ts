import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, until, type RpProject } from '../support/rp-project.js';
import { supervisorPids } from '../support/supervisors.js';

/** The parts of the ledger these tests read. */
interface SupervisedLedger {
  jobs: Array<{ id: string; state: string; logFile?: string }>;
  hostSupervisor?: { pid: number };
}

/** Runs `task(0) … task(count - 1)`, at most `parallel` at a time. */
async function inBatches(count: number, parallel: number, task: (n: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Submits `rp run --detach --script=<script>` and returns the job id it prints. */
async function detach(project: RpProject, script: string, extra: string[] = []): Promise<string> {
  const result = await project.rp(['run', `--script=${script}`, '--detach', ...extra]);
  expect(result.exitCode, result.stderr).toBe(0);
  const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1];
  expect(id, result.stdout).toBeDefined();
  return id as string;
}

/**
 * Detached jobs are ledger entries run by one host supervisor process, not a process each
 * (issue: sweeps at scale).
 */
describe.skipIf(skipWithoutDocker)('the host supervisor (real Docker engine)', () => {
  let project: RpProject;

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-supervisor-', {
      hostConfig: (config) => {
        config.capacity.cpus = 2;
      },
    });
    // Holds both cores until the test creates its gate file.
    await project.script('gate.sh', 'while [ ! -e gate-open ]; do sleep 0.1; done');
    await project.script('task.sh', 'echo "task $1"\nexit $(( $1 % 5 ))');
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  const ledger = async (): Promise<SupervisedLedger> =>
    JSON.parse(
      await readFile(join(project.rpHome, 'queue', 'ledger.json'), 'utf8'),
    ) as SupervisedLedger;

  it('runs 60 detached jobs of one user through one supervisor process', async () => {
    const gate = await detach(project, 'gate.sh', ['--cpu', '2']);
    const tasks = new Map<string, number>();
    await inBatches(60, 4, async (n) => {
      tasks.set(await detach(project, `task.sh ${n}`), n);
    });

    // 61 jobs in the ledger, one process on the host for all of them.
    const queued = await ledger();
    expect(queued.jobs).toHaveLength(61);
    const supervisors = await supervisorPids(project.rpHome);
    expect(supervisors).toEqual([queued.hostSupervisor?.pid]);

    await writeFile(join(project.dir, 'gate-open'), '');
    const history = await until(
      'all 61 jobs to end',
      async () => {
        const records = await project.history();
        return records.length >= 61 ? records : undefined;
      },
      240_000,
    );
    expect(history.find((record) => record.id === gate)).toMatchObject({ exitCode: 0 });
    for (const [id, n] of tasks) {
      expect(
        history.find((record) => record.id === id),
        `task ${n}`,
      ).toMatchObject({
        ending: 'exited',
        exitCode: n % 5,
      });
    }
    // Each container wrote its own output to its job's log file.
    for (const record of history.filter((entry) => tasks.has(entry.id))) {
      const text = await readFile(record.logFile as string, 'utf8');
      expect(text).toBe(`task ${tasks.get(record.id)}\n`);
    }

    // Nothing left: the supervisor retired, and no container or launch file remains.
    await until('the supervisor to exit', async () =>
      (await supervisorPids(project.rpHome)).length === 0 ? true : undefined,
    );
    const after = await ledger();
    expect(after.jobs).toEqual([]);
    expect(after.hostSupervisor).toBeUndefined();
    expect(await project.jobContainers()).toEqual([]);
  }, 600_000);

  it('loses nothing when the supervisor is killed with SIGKILL mid-sweep', async () => {
    await project.script('sleepy.sh', 'sleep 2\necho "done $1"\nexit $1');
    // Ids are reused: only the history lines of this test's jobs count.
    const seen = (await project.history()).length;
    const since = async () => (await project.history()).slice(seen);
    const tasks = new Map<string, number>();
    for (let n = 1; n <= 6; n += 1) tasks.set(await detach(project, `sleepy.sh ${n}`), n);

    const running = await until('a job to run', async () => {
      const state = await ledger();
      return state.jobs.some((job) => job.state === 'running') ? state : undefined;
    });
    const killed = running.hostSupervisor?.pid as number;
    process.kill(killed, 'SIGKILL');
    await until('the supervisor to die', async () =>
      (await supervisorPids(project.rpHome)).includes(killed) ? undefined : true,
    );
    // Its running containers carry on; no entry was lost or reaped.
    const orphaned = await ledger();
    expect(orphaned.jobs.length).toBe(6 - (await since()).filter((r) => tasks.has(r.id)).length);

    // The next rp command of anyone starts a new supervisor, which follows what runs, records
    // what ended meanwhile and starts the rest.
    const ps = await project.rp(['ps']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    const history = await until('all 6 jobs to end', async () => {
      const records = (await since()).filter((record) => tasks.has(record.id));
      return records.length === 6 ? records : undefined;
    });
    for (const [id, n] of tasks) {
      const record = history.find((entry) => entry.id === id);
      expect(record, `job ${n}`).toMatchObject({ ending: 'exited', exitCode: n });
      const text = await readFile(record?.logFile as string, 'utf8');
      expect(text).toBe(`done ${n}\n`);
    }
    await until('the new supervisor to exit', async () =>
      (await supervisorPids(project.rpHome)).length === 0 ? true : undefined,
    );
    expect(await project.jobContainers()).toEqual([]);
  }, 300_000);

  it('rp kill ends a running detached job and a queued one, and the supervisor retires', async () => {
    await project.script('forever.sh', 'echo started\nexec sleep 600');
    // Ids are reused: only the history lines of this test's jobs count.
    const seen = (await project.history()).length;
    const running = await detach(project, 'forever.sh', ['--cpu', '2']);
    const queued = await detach(project, 'forever.sh', ['--cpu', '2']);
    await until('the first job to run', async () => {
      const job = (await ledger()).jobs.find((entry) => entry.id === running);
      const log = job?.logFile ? await readFile(job.logFile, 'utf8').catch(() => '') : '';
      return job?.state === 'running' && log.includes('started') ? true : undefined;
    });

    for (const id of [queued, running]) {
      const killed = await project.rp(['kill', id]);
      expect(killed.exitCode, killed.stderr).toBe(0);
    }

    const history = (await project.history()).slice(seen);
    for (const id of [queued, running]) {
      expect(history.find((record) => record.id === id)).toMatchObject({ ending: 'killed' });
    }
    await until('the supervisor to exit', async () =>
      (await supervisorPids(project.rpHome)).length === 0 ? true : undefined,
    );
    expect((await ledger()).jobs).toEqual([]);
    expect(await project.jobContainers()).toEqual([]);
  }, 120_000);
});
