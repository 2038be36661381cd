import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, docker } from '../support/docker.js';
import { createRpProject, editHostConfig, until, type RpProject } from '../support/rp-project.js';
import { inSqueue, scancel, scontrolJob, skipWithoutSlurm, startSlurm } from '../support/slurm.js';

/**
 * `rp run --backend slurm` against the real single-node cluster of scripts/slurm/start.sh
 * (cgroups on, an Epilog that removes containers labelled rp.slurm-job, 2 CPUs' worth of jobs
 * and two fake GPUs, KillWait 5 s, no accounting: ended jobs are read from status files).
 */

interface BackendRow {
  id: string;
  task?: number;
  name: string;
  backend: string;
  backendJobId: string;
  phase: string;
  reason?: string;
  exitCode?: number;
  state: string;
}

describe.skipIf(skipWithoutSlurm)('rp run --backend slurm (real single-node Slurm)', () => {
  let project: RpProject;
  /** `rp run --backend slurm ARGS` in the project. */
  const slurmRun = (args: string[]) => project.rp(['run', '--backend', 'slurm', ...args]);
  const submitted: string[] = [];

  const detach = async (args: string[]): Promise<{ id: string; slurmJobId: string }> => {
    const result = await slurmRun(['--detach', ...args]);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /waiting to be scheduled as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    if (!match) throw new Error(`no job id in: ${result.stderr}`);
    submitted.push(match[2] as string);
    return { id: match[1] as string, slurmJobId: match[2] as string };
  };

  const rows = async (): Promise<BackendRow[]> => {
    const result = await project.rp(['ps', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { backendJobs?: BackendRow[] }).backendJobs ?? [];
  };

  const rowOf = async (id: string, task?: number): Promise<BackendRow | undefined> =>
    (await rows()).find((row) => row.id === id && row.task === task);

  const untilPhase = (id: string, phases: readonly string[], task?: number, timeoutMs = 120_000) =>
    until(
      `rp${id}${task === undefined ? '' : `_${task}`} to be ${phases.join(' or ')}`,
      async () => {
        const row = await rowOf(id, task);
        return row && phases.includes(row.phase) ? row : undefined;
      },
      timeoutMs,
    );

  /** Gone from Slurm (the Epilog has run) and no container of its left. */
  const untilGone = (slurmJobId: string) =>
    until(`Slurm job ${slurmJobId} and its container to be gone`, async () => {
      if ((await inSqueue([slurmJobId])).length > 0) return undefined;
      const left = await docker(['ps', '-aq', '--filter', `label=rp.slurm-job=${slurmJobId}`]);
      return left.stdout.trim() === '' ? true : undefined;
    });

  beforeAll(async () => {
    assertDockerForCi();
    await startSlurm();
    project = await createRpProject('rp-slurm-');
    // The shared folder (scripts, logs, status files, image archives) inside the project's
    // temporary folder, so that cleanup removes it; the node is this machine.
    await editHostConfig(project.rpHome, (config) => {
      (config as unknown as Record<string, unknown>).backend = {
        type: 'slurm',
        sharedDir: join(project.dir, '.shared'),
      };
      // The stop grace of the cluster's jobs, within the test cluster's KillWait of 5 s.
      config.limits = { ...config.limits, killWaitSeconds: 2 };
    });
    await project.appendToHook('export FROM_HOOK=hooked');
    await project.script(
      'hello.sh',
      'echo "hello $1 $FROM_HOOK $(id -u):$(id -g)"; echo "to stderr" >&2; exit 3',
    );
    await project.script(
      'tidy.sh',
      'trap "echo got TERM; sleep 0.5; echo cleaned up; exit 143" TERM; echo started; while :; do sleep 0.2; done',
    );
    await project.script(
      'long.sh',
      'trap "echo got TERM; exit 143" TERM; echo started; while :; do sleep 0.2; done',
    );
  });

  afterEach(async () => {
    await scancel(submitted.splice(0));
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it("Given a script, When rp run --backend slurm runs it, Then its output streams back and rp exits with the script's code, leaving no container", async () => {
    const result = await slurmRun(['--script=hello.sh "big world"']);
    expect(result.exitCode, result.stderr).toBe(3);
    const uid = `${process.getuid?.()}:${process.getgid?.()}`;
    expect(result.stdout).toContain(`hello big world hooked ${uid}`);
    expect(result.stdout).toContain('to stderr');
    const match = /waiting to be scheduled as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    expect(match, result.stderr).not.toBeNull();
    const left = await docker(['ps', '-aq', '--filter', `label=rp.slurm-job=${match?.[2]}`]);
    expect(left.stdout.trim()).toBe('');
    expect(await rowOf(match?.[1] as string)).toMatchObject({
      backend: 'slurm',
      phase: 'failed',
      exitCode: 3,
    });
  });

  it('Given GPUs, cores, memory, a time limit and a kill wait, When submitted, Then sbatch and the job script got them all (scontrol show job)', async () => {
    const job = await detach([
      '--script=long.sh',
      '--gpu',
      '1',
      '--cpu',
      '2',
      '--mem',
      '1',
      '--time',
      '5m',
      '--signal',
      'USR1@30',
    ]);
    const fields = await scontrolJob(job.slurmJobId);
    expect(fields.JobName).toBe(`rp${job.id}`);
    expect(fields.NumCPUs).toBe('2');
    expect(fields.TimeLimit).toBe('00:05:00');
    expect(fields.MinMemoryNode).toBe('1G');
    expect(fields.TresPerJob ?? fields.TRES).toMatch(/gpu[:=]1/);
    expect(fields.StdOut).toContain(`rp${job.id}-`);
    const script = await readFile(join(fields.WorkDir as string, 'job.sh'), 'utf8');
    expect(script).toContain('#SBATCH --signal=B:USR1@30');
    // The host's limits.killWaitSeconds is the container's stop grace on scancel.
    expect(script).toContain(
      `trap 'docker stop --time="$(rp_grace)" "$rp_name" >/dev/null 2>&1' TERM`,
    );
    expect(script).toMatch(/\n {2}echo 2\n\}\n/);
  });

  it('Given a running and a pending job, When rp ps lists them and rp kill cancels both, Then Slurm shows why one waits, and both end leaving no container', async () => {
    const running = await detach(['--script=long.sh', '--cpu', '2']);
    await untilPhase(running.id, ['running']);
    // The node has 2 cores: the second job waits for the first.
    const pending = await detach(['--script=long.sh', '--cpu', '2']);
    const queued = await untilPhase(pending.id, ['queued']);
    await until('the pending job to have a reason', async () => (await rowOf(pending.id))?.reason);
    const ps = await project.rp(['ps']);
    expect(ps.stdout).toMatch(
      new RegExp(`rp${pending.id}\\s+slurm\\s+${pending.slurmJobId}.*queued \\(`),
    );
    expect(ps.stdout).toMatch(
      new RegExp(`rp${running.id}\\s+slurm\\s+${running.slurmJobId}.*running`),
    );
    expect(queued.backend).toBe('slurm');

    const killPending = await project.rp(['kill', pending.id]);
    expect(killPending.exitCode, killPending.stderr).toBe(0);
    expect(killPending.stdout).toContain(`cancelled rp${pending.id}`);
    await untilPhase(pending.id, ['cancelled']);

    // The container is running under the job; the log says so.
    await until('the job to print "started"', async () => {
      const logs = await project.rp(['logs', running.id]);
      return logs.stdout.includes('started') ? true : undefined;
    });
    const killRunning = await project.rp(['kill', running.id]);
    expect(killRunning.exitCode, killRunning.stderr).toBe(0);
    await untilGone(running.slurmJobId);
    expect((await rowOf(running.id))?.phase).toBe('cancelled');
    const logs = await project.rp(['logs', running.id]);
    expect(logs.stdout).toContain('got TERM');
  });

  it("Given rp kill --grace, When a running job is cancelled, Then its container gets that grace instead of the job's own", async () => {
    // Given two jobs that need half a second to clean up on SIGTERM (the job's own grace is 2 s)
    const [tidy, hurried] = [
      await detach(['--script=tidy.sh', '--cpu', '1']),
      await detach(['--script=tidy.sh', '--cpu', '1']),
    ];
    for (const job of [tidy, hurried]) {
      await until(`job ${job.id} to print "started"`, async () =>
        (await project.rp(['logs', job.id])).stdout.includes('started') ? true : undefined,
      );
    }
    // When one is killed with its own grace and the other with --grace 0
    const killed = await Promise.all([
      project.rp(['kill', tidy.id]),
      project.rp(['kill', hurried.id, '--grace', '0']),
    ]);
    for (const result of killed) expect(result.exitCode, result.stderr).toBe(0);
    // (a grace within the cluster's KillWait of 5 s is given as it is, without a word)
    for (const result of killed) expect(result.stderr).not.toMatch(/warning/);
    await untilGone(tidy.slurmJobId);
    await untilGone(hurried.slurmJobId);
    // Then the first cleaned up, and the second was stopped before it could
    expect((await project.rp(['logs', tidy.id])).stdout).toContain('cleaned up');
    const hurriedLog = (await project.rp(['logs', hurried.id])).stdout;
    expect(hurriedLog).toContain('started');
    expect(hurriedLog).not.toContain('cleaned up');
    expect((await rowOf(hurried.id))?.phase).toBe('cancelled');
  });

  it("Given rp kill --grace longer than the cluster's KillWait, When the job is cancelled, Then rp warns that it gets KillWait at most", async () => {
    // Given a running job that needs half a second to clean up on SIGTERM
    const job = await detach(['--script=tidy.sh', '--cpu', '1']);
    await until(`job ${job.id} to print "started"`, async () =>
      (await project.rp(['logs', job.id])).stdout.includes('started') ? true : undefined,
    );
    // When it is killed with --grace 30 on the test cluster, whose KillWait is 5 s
    const killed = await project.rp(['kill', job.id, '--grace', '30']);
    // Then it is cancelled, and rp says it gets 5 s at most, not 30
    expect(killed.exitCode, killed.stderr).toBe(0);
    expect(killed.stderr).toContain(
      `rp: warning: rp${job.id} gets at most 5 s between SIGTERM and SIGKILL, not the 30 s of --grace`,
    );
    await untilGone(job.slurmJobId);
    // and within those 5 s it cleaned up
    expect((await project.rp(['logs', job.id])).stdout).toContain('cleaned up');
  });

  it('Given --time, When the job runs past it, Then Slurm ends it as timeout and rp run exits 124', async () => {
    const result = await slurmRun(['--script=long.sh', '--time', '1s']);
    expect(result.exitCode, result.stderr).toBe(124);
    expect(result.stderr).toContain('reached its time limit');
    const id = /as rp(\d{4})/.exec(result.stderr)?.[1] as string;
    expect((await rowOf(id))?.phase).toBe('timeout');
  });

  it('Given --array, When submitted, Then it runs as one Slurm array and each task has its own log', async () => {
    await project.script(
      'task.sh',
      'echo "task $1 of $RP_ARRAY_JOB_ID ($RP_ARRAY_TASK_ID)"; sleep 1',
    );
    const result = await slurmRun(['--array', '0-2', '--script=task.sh {i}']);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /waiting to be scheduled as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    const [id, slurmJobId] = [match?.[1] as string, match?.[2] as string];
    submitted.push(slurmJobId);
    const fields = await scontrolJob(slurmJobId);
    expect(fields.ArrayJobId).toBe(slurmJobId);
    for (const task of [0, 1, 2]) {
      await untilPhase(id, ['completed'], task);
      const logs = await project.rp(['logs', `${id}_${task}`]);
      expect(logs.stdout).toContain(`task ${task} of ${id} (${task})`);
    }
    const taskRows = (await rows()).filter((row) => row.id === id);
    expect(taskRows.map((row) => row.backendJobId).sort()).toEqual(
      [0, 1, 2].map((task) => `${slurmJobId}_${task}`),
    );
  });

  it('Given --sweep, When submitted, Then the grid runs as one Slurm array and each task sees its values', async () => {
    await project.script(
      'grid.sh',
      'echo "lr $1 seed $2 env $RP_SWEEP_LR/$RP_SWEEP_SEED task $RP_ARRAY_TASK_ID"',
    );
    const typo = await slurmRun(['--sweep', 'lr=1e-3,3e-4', '--script=grid.sh {lrr}']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('--script: no value for {lrr}');

    const result = await slurmRun([
      '--sweep',
      'lr=1e-3,3e-4',
      '--sweep',
      'seed=1..2',
      '--script=grid.sh {lr} {seed}',
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('runs 4 task(s)');
    const match = /waiting to be scheduled as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    const [id, slurmJobId] = [match?.[1] as string, match?.[2] as string];
    submitted.push(slurmJobId);
    expect((await scontrolJob(slurmJobId)).ArrayJobId).toBe(slurmJobId);
    const grid = [
      ['1e-3', '1'],
      ['1e-3', '2'],
      ['3e-4', '1'],
      ['3e-4', '2'],
    ];
    for (const [task, [lr, seed]] of grid.entries()) {
      await untilPhase(id, ['completed'], task);
      const logs = await project.rp(['logs', `${id}_${task}`]);
      expect(logs.stdout).toContain(`lr ${lr} seed ${seed} env ${lr}/${seed} task ${task}`);
    }
  });

  it('Given a job that ended over a week ago, When rp ps lists, Then its record and its folder on the shared folder go, and a folder rp did not make for it stays', async () => {
    await project.script('quick.sh', 'echo quick');
    const result = await slurmRun(['--script=quick.sh']);
    expect(result.exitCode, result.stderr).toBe(0);
    const id = /as rp(\d{4})/.exec(result.stderr)?.[1] as string;
    const records = join(project.rpHome, 'queue', 'slurm');
    const record = JSON.parse(await readFile(join(records, `${id}.json`), 'utf8')) as {
      dir: string;
      ended: Record<string, { at: string }>;
    };
    expect(record.dir.startsWith(join(project.dir, '.shared', 'jobs'))).toBe(true);
    expect((await stat(record.dir)).isDirectory()).toBe(true);
    // Its end moved back 8 days; a record naming a folder rp does not make job folders in.
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600_000).toISOString();
    const aged = { ...record, ended: { '': { phase: 'completed', exitCode: 0, at: weekAgo } } };
    await writeFile(join(records, `${id}.json`), JSON.stringify(aged));
    const precious = join(project.dir, 'precious');
    await mkdir(precious);
    const forged = id === '9999' ? '9998' : '9999';
    await writeFile(
      join(records, `${forged}.json`),
      JSON.stringify({ ...aged, id: forged, slurmJobId: '1', dir: precious }),
    );

    expect(await rowOf(id)).toBeUndefined();

    await expect(stat(join(records, `${id}.json`))).rejects.toThrow(/ENOENT/);
    await expect(stat(record.dir)).rejects.toThrow(/ENOENT/);
    await expect(stat(join(records, `${forged}.json`))).rejects.toThrow(/ENOENT/);
    expect((await stat(precious)).isDirectory()).toBe(true);
  });

  it("Given --outfile_name, When the job runs, Then its output is in the project's .rp/logs/NAME_<date>_<id>.log, as a local job's, and rp logs prints it", async () => {
    await project.script('named.sh', 'echo "to a named log"');
    const result = await slurmRun(['--outfile_name', 'named', '--script=named.sh']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('to a named log');
    const id = /as rp(\d{4})/.exec(result.stderr)?.[1] as string;
    const logs = await readdir(join(project.dir, '.rp', 'logs'));
    const named = logs.find((name) => new RegExp(`^named_\\d{8}_\\d{6}_${id}\\.log$`).test(name));
    expect(named, logs.join(', ')).toBeDefined();
    expect(await readFile(join(project.dir, '.rp', 'logs', named as string), 'utf8')).toContain(
      'to a named log',
    );
    expect((await project.rp(['logs', id])).stdout).toContain('to a named log');

    const bad = await slurmRun(['--outfile_name', 'a/b', '--script=named.sh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--outfile_name "a/b" may hold only');
    // --no-wait has no Slurm counterpart (sbatch lost --immediate): refused, not ignored.
    const noWait = await slurmRun(['--no-wait', '--script=named.sh']);
    expect(noWait.exitCode).toBe(2);
    expect(noWait.stderr).toContain('--no-wait does not apply with --backend slurm');
  });

  it("Given a request the cluster cannot meet, When submitted, Then rp exits 125 with sbatch's own words and keeps no record", async () => {
    const before = (await rows()).length;
    const result = await slurmRun(['--script=long.sh', '--gpu', '5']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toContain('sbatch refused the job: sbatch: error:');
    expect(result.stderr).toContain('hint: check --gpu/--cpu/--mem/--time');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await rows()).toHaveLength(before);
  });

  it('Given --backend slurm on a host without a Slurm config, When run, Then the error names the flag and the config field', async () => {
    const bare = await createRpProject('rp-slurm-bare-');
    try {
      const result = await bare.rp(['run', '--backend', 'slurm', '--script=x.sh']);
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('--backend slurm');
      expect(result.stderr).toContain('"backend": {"type": "slurm"');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await bare.cleanup();
    }
  });
});
