import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, until, type RpProject } from '../support/rp-project.js';
import { supervisorPids } from '../support/supervisors.js';

interface TaskRecord {
  id: string;
  ending: string;
  exitCode?: number;
  logFile?: string;
  array?: { task: number };
}

/** `rp run --array` and `--sweep`: many tasks in one submission (real Docker engine). */
describe.skipIf(skipWithoutDocker)('arrays and grids (real Docker engine)', () => {
  let project: RpProject;

  beforeAll(async () => {
    assertDockerForCi();
    // Two cores: two 1-core tasks could run at once, so a limit of one is what holds them back.
    project = await createRpProject('rp-arrays-', {
      hostConfig: (config) => {
        config.capacity.cpus = 2;
      },
    });
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  /** How long the history was when each array was submitted: ids are reused. */
  const historyAt = new Map<string, number>();

  /** Submits and returns the array id. */
  async function submit(args: string[]): Promise<string> {
    const before = (await project.history()).length;
    const result = await project.rp(['run', ...args]);
    expect(result.exitCode, result.stderr).toBe(0);
    const id = /^rp(\d{4}): \d+ tasks? /m.exec(result.stdout)?.[1];
    expect(id, result.stdout).toBeDefined();
    historyAt.set(id as string, before);
    return id as string;
  }

  async function tasksOf(id: string, count: number): Promise<TaskRecord[]> {
    return until(
      `the ${count} tasks of array ${id} to end`,
      async () => {
        const records = ((await project.history()) as TaskRecord[])
          .slice(historyAt.get(id) ?? 0)
          .filter((r) => r.id === id);
        return records.length >= count ? records : undefined;
      },
      120_000,
    );
  }

  it('gives each grid task its own values, in its command line and its environment', async () => {
    await project.script(
      'show.sh',
      'echo "args=$1,$2 env=$RP_SWEEP_LR,$RP_SWEEP_SEED task=$RP_ARRAY_TASK_ID of $RP_ARRAY_JOB_ID"',
    );
    const id = await submit([
      '--sweep',
      'lr=0.1,0.2',
      '--sweep',
      'seed=1..2',
      '--script=show.sh {lr} {seed}',
    ]);
    const records = await tasksOf(id, 4);
    const expected = [
      [0, '0.1', '1'],
      [1, '0.1', '2'],
      [2, '0.2', '1'],
      [3, '0.2', '2'],
    ] as const;
    for (const [task, lr, seed] of expected) {
      const record = records.find((r) => r.array?.task === task);
      expect(record, `task ${task}`).toMatchObject({ ending: 'exited', exitCode: 0 });
      // One log file per task: .rp/logs/NAME_<array>_<task>.log.
      const name = (await project.info()).name;
      expect(record?.logFile).toBe(join(project.dir, '.rp/logs', `${name}_${id}_${task}.log`));
      expect(await readFile(record?.logFile as string, 'utf8')).toBe(
        `args=${lr},${seed} env=${lr},${seed} task=${task} of ${id}\n`,
      );
      const logs = await project.rp(['logs', `${id}_${task}`]);
      expect(logs.stdout).toContain(`task=${task} of ${id}`);
    }
  }, 180_000);

  it('never runs more tasks of a %N array at once than N, though cores are free', async () => {
    // Each task counts the tasks running beside it, through files in the project.
    await project.script(
      'count.sh',
      'mkdir -p running && touch running/$1 && sleep 1 && echo "beside=$(ls running | wc -l)" && rm running/$1',
    );
    const id = await submit(['--array', '0-5%1', '--script=count.sh {i}']);
    const records = await tasksOf(id, 6);
    for (const record of records) {
      expect(record).toMatchObject({ ending: 'exited', exitCode: 0 });
      expect(await readFile(record.logFile as string, 'utf8')).toBe('beside=1\n');
    }
  }, 180_000);

  it('lists an array on one line, each task with --expand, and rp kill ends them all', async () => {
    await project.script('forever.sh', 'echo "up $1"\nexec sleep 600');
    const id = await submit(['--array', '0-3%2', '--script=forever.sh {i}']);
    await until('two tasks to run', async () => {
      const ps = await project.rp(['ps', '--json']);
      const status = JSON.parse(ps.stdout) as { running: Array<{ id: string; state: string }> };
      return status.running.some((row) => row.id === `${id}_[0-1]` && row.state === 'running')
        ? true
        : undefined;
    });

    const ps = await project.rp(['ps']);
    expect(ps.stdout).toContain(`${id}_[0-1]`);
    expect(ps.stdout).toContain(`${id}_[2-3]`);
    const expanded = await project.rp(['queue', '--expand', '--json']);
    const queue = (JSON.parse(expanded.stdout) as { queue: Array<{ id: string }> }).queue;
    expect(queue.map((row) => row.id)).toEqual([`${id}_2`, `${id}_3`]);

    const killed = await project.rp(['kill', id, '--json']);
    expect(killed.exitCode, killed.stderr).toBe(0);
    const results = JSON.parse(killed.stdout) as Array<{ task: number; action: string }>;
    expect(results.map((r) => [r.task, r.action])).toEqual([
      [0, 'stopped'],
      [1, 'stopped'],
      [2, 'removed'],
      [3, 'removed'],
    ]);
    const records = await tasksOf(id, 4);
    expect(records.map((r) => r.ending)).toEqual(['killed', 'killed', 'killed', 'killed']);
    await until('the supervisor to exit', async () =>
      (await supervisorPids(project.rpHome)).length === 0 ? true : undefined,
    );
    expect(await project.jobContainers()).toEqual([]);
  }, 180_000);

  it('refuses a bad spec or a placeholder without a value, naming it, and queues nothing', async () => {
    const bad = await project.rp(['run', '--array', '5-1', '--script=show.sh {i}']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--array 5-1');
    const typo = await project.rp(['run', '--array', '0-3', '--script=show.sh {lr}']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('no value for {lr}');
    const both = await project.rp([
      'run',
      '--array',
      '0-3',
      '--sweep',
      'a=1,2',
      '--script=show.sh',
    ]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--array and --sweep cannot be combined');
    expect((await project.ledger()).jobs).toEqual([]);
  });
});
