import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  editHostConfig,
  readHistory,
  waitForOutput,
  type RpProject,
} from '../support/rp-project.js';
import { makeTempDir } from '../support/tmp.js';

describe.skipIf(skipWithoutDocker)('rp run (real Docker engine)', () => {
  let project: RpProject;

  const run = (args: string[]) => project.rp(['run', ...args]);

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-run-');
    await project.appendToHook('export FROM_HOOK=hooked');
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('runs the script with its arguments, streams stdout and stderr, and passes the exit code through', async () => {
    await project.script('hello.sh', 'echo "hello $1 $FROM_HOOK"; echo "to stderr" >&2; exit 3');
    const result = await run(['--script=hello.sh "big world"']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('hello big world hooked');
    expect(result.stderr).toContain('to stderr');
    expect(result.stderr).toMatch(/waiting to be scheduled as rp\d{4}/);
    expect((await project.ledger()).jobs).toEqual([]);
    expect(await project.jobContainers()).toEqual([]);
    expect((await project.history()).at(-1)).toMatchObject({
      ending: 'exited',
      exitCode: 3,
      command: 'hello.sh "big world"',
    });
  });

  it('runs as the host user in the project folder with exactly the granted cores and memory', async () => {
    await project.script(
      'limits.sh',
      'id -u; id -g; pwd; nproc; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    );
    const result = await run(['--script=limits.sh', '--mem', '0.25']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [uid, gid, cwd, cores, memory] = result.stdout.split('\n');
    expect(Number(uid)).toBe(process.getuid?.());
    expect(Number(gid)).toBe(process.getgid?.());
    expect(cwd).toMatch(/^\/home\/[^/]+\/rp-run-/);
    expect(cores).toBe('1');
    expect(Number(memory)).toBe(256 * 1024 * 1024);
  });

  it('writes the output to .rp/logs/NAME_<time>.log with --outfile_name', async () => {
    await project.script('log.sh', 'echo logged-line');
    const result = await run(['--script=log.sh', '--outfile_name', 'mylog']);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /output also goes to (\S+mylog_\d{8}_\d{6}\.log)/.exec(result.stderr);
    expect(match, result.stderr).not.toBeNull();
    expect(await readFile(match?.[1] as string, 'utf8')).toBe('logged-line\n');
  });

  it('runs two jobs that each take every core one after the other, and a third after both', async () => {
    await project.script(
      'hold.sh',
      'echo "$(date +%s.%N) start" >> output/$1.times; sleep 1; echo "$(date +%s.%N) end" >> output/$1.times',
    );
    const runs = ['a', 'b', 'c'].map((name) => run([`--script=hold.sh ${name}`, '--cpu', '2']));
    const results = await Promise.all(runs);
    for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
    const spans = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const [start, end] = (await readFile(join(project.dir, 'output', `${name}.times`), 'utf8'))
          .trim()
          .split('\n')
          .map((line) => Number(line.split(' ')[0]));
        return { start: start as number, end: end as number };
      }),
    );
    spans.sort((x, y) => x.start - y.start);
    for (let i = 1; i < spans.length; i += 1) {
      expect(spans[i]!.start, 'a job started before the previous one ended').toBeGreaterThanOrEqual(
        spans[i - 1]!.end,
      );
    }
  });

  it('mounts each paths.json entry at ~/<basename> and refuses one that does not exist', async () => {
    const data = await makeTempDir('rp-data-');
    try {
      await writeFile(join(data.dir, 'sample.txt'), 'from the host');
      await writeFile(join(project.dir, '.rp/paths.json'), JSON.stringify([`${data.dir}/`]));
      await project.script('mounts.sh', `cat ~/${data.dir.split('/').at(-1)}/sample.txt`);
      const result = await run(['--script=mounts.sh']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe('from the host');

      await writeFile(join(project.dir, '.rp/paths.json'), JSON.stringify(['/no/such/folder']));
      const missing = await run(['--script=mounts.sh']);
      expect(missing.exitCode).toBe(3);
      expect(missing.stderr).toContain('/no/such/folder does not exist');
      expect((await project.ledger()).jobs).toEqual([]);
    } finally {
      await writeFile(join(project.dir, '.rp/paths.json'), '[]');
      await data.cleanup();
    }
  });

  it('hands a GPU job exactly its GPUs and, without the NVIDIA runtime, fails with 125 leaving nothing behind', async () => {
    const gpuHome = join(project.dir, '.gpu-host');
    const gpuEnv = { RP_HOME: gpuHome };
    expect((await project.rp(['host', 'init'], { env: gpuEnv })).exitCode).toBe(0);
    await editHostConfig(gpuHome, (config) => {
      config.capacity.gpus = [{ index: 0 }, { index: 1 }, { index: 2 }];
    });
    await project.script('gpu.sh', 'nvidia-smi');
    const result = await project.rp(['run', '--script=gpu.sh', '--gpu', '2'], { env: gpuEnv });
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/GPU 0,1/);
    expect(result.stderr).toContain('NVIDIA');
    expect(await project.jobContainers()).toEqual([]);
    expect((await readHistory(gpuHome)).at(-1)).toMatchObject({
      grant: { gpus: [0, 1] },
      ending: 'failed',
    });
  });

  it('refuses at once a request larger than the machine, leaving nothing queued', async () => {
    const result = await run(['--script=hello.sh', '--cpu', '64']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/64 CPU/);
    expect((await project.ledger()).jobs).toEqual([]);
  });

  it('refuses a missing script before queueing', async () => {
    const result = await run(['--script=nope.sh']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('nope.sh: no such file');
  });

  it('runs two concurrent jobs of one project each with its own script', async () => {
    await project.script('one.sh', 'sleep 0.5; echo one');
    await project.script('two.sh', 'sleep 0.5; echo two');
    const [one, two] = await Promise.all([run(['--script=one.sh']), run(['--script=two.sh'])]);
    expect(one.stdout).toBe('one');
    expect(two.stdout).toBe('two');
  });

  it('exits 75 with --no-wait when the machine is busy, and queues nothing', async () => {
    await project.script('sleep.sh', 'echo started; sleep 30');
    const holder = project.startRun(['--script=sleep.sh', '--cpu', '2']);
    await waitForOutput(holder, /started/);
    await project.script('noop.sh', 'true');
    const result = await run(['--script=noop.sh', '--no-wait']);
    expect(result.exitCode).toBe(75);
    expect((await project.ledger()).jobs.map((job) => job.state)).toEqual(['running']);

    // Ctrl+C on the running job: container stopped and removed, slot released, exit 130.
    holder.kill('SIGINT');
    const ended = await holder;
    expect(ended.exitCode).toBe(130);
    expect(await project.jobContainers()).toEqual([]);
    expect((await project.ledger()).jobs).toEqual([]);
  });

  it('rebuilds a corrupted ledger from the running containers, moving the garbage aside', async () => {
    await project.script('sleep.sh', 'echo started; sleep 30');
    const holder = project.startRun(['--script=sleep.sh', '--cpu', '1']);
    await waitForOutput(holder, /started/);
    const [running] = (await project.ledger()).jobs;
    expect(running?.state).toBe('running');

    // Given garbage in the ledger, when any rp process next touches it,
    await writeFile(ledgerPaths(project.rpHome).ledger, '{"version": 1, "jobs": [ garbage');
    await project.script('noop.sh', 'true');
    const other = await run(['--script=noop.sh', '--cpu', '2', '--no-wait']);
    expect(other.stderr).toContain('ledger');

    // then the running job is known again, and the garbage is kept aside.
    expect((await project.ledger()).jobs.map((job) => job.id)).toEqual([running?.id]);
    const queue = ledgerPaths(project.rpHome).dir;
    const aside = (await readdir(queue)).filter((name) => name.startsWith('ledger.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(queue, aside[0] as string), 'utf8')).toContain('garbage');

    holder.kill('SIGINT');
    expect((await holder).exitCode).toBe(130);
    expect((await project.ledger()).jobs).toEqual([]);
  });

  it('keeps the resources of a job whose rp process was SIGKILLed until its container exits', async () => {
    await project.script('short.sh', 'echo started; sleep 4; echo done > output/short.done');
    const holder = project.startRun(['--script=short.sh', '--cpu', '2']);
    await waitForOutput(holder, /started/);
    holder.kill('SIGKILL');
    await holder;
    // The container runs on without its supervisor and still holds every core,
    await project.script('noop.sh', 'true');
    const busy = await run(['--script=noop.sh', '--no-wait']);
    expect(busy.exitCode).toBe(75);
    // and once it has exited, a waiting job gets them without anyone restarting anything.
    await project.script('after.sh', 'cat output/short.done');
    const after = await run(['--script=after.sh', '--cpu', '2']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stdout).toBe('done');
    expect((await project.ledger()).jobs).toEqual([]);
    await project.removeContainers();
  });
});
