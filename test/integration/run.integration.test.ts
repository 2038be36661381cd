import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
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
  jobs: Array<{ id: string; state: string }>;
}

describe.skipIf(skipWithoutDocker)('rp run (real Docker engine)', () => {
  let dir: string;
  let rpHome: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;

  const script = async (name: string, body: string): Promise<void> => {
    await writeFile(join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  };
  const run = (args: string[]) => rp(['run', ...args], { cwd: dir, env });
  const ledger = async (): Promise<Ledger> =>
    JSON.parse(await readFile(join(rpHome, 'ledger.json'), 'utf8')) as Ledger;
  const jobContainers = async (): Promise<string[]> =>
    (await docker(['ps', '-aq', '--filter', `label=rp.project-path=${dir}`])).stdout
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    assertDockerForCi();
    ({ dir, cleanup } = await makeTempDir('rp-run-'));
    rpHome = join(dir, '.host');
    env = { RP_HOME: rpHome };
    expect((await rp(['host', 'init'], { cwd: dir, env })).exitCode).toBe(0);
    const init = await rp(
      ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.5'],
      { cwd: dir, env },
    );
    expect(init.exitCode, init.stderr).toBe(0);
    await appendHook('export FROM_HOOK=hooked');
  });

  async function appendHook(line: string): Promise<void> {
    const file = join(dir, 'docker/bashhook.sh');
    await writeFile(file, `${await readFile(file, 'utf8')}${line}\n`);
  }

  afterAll(async () => {
    const leftovers = await jobContainers();
    if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
    await removeProjectImages(dir);
    await cleanup();
  });

  it('runs the script with its arguments, streams stdout and stderr, and passes the exit code through', async () => {
    await script('hello.sh', 'echo "hello $1 $FROM_HOOK"; echo "to stderr" >&2; exit 3');
    const result = await run(['--script=hello.sh "big world"']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('hello big world hooked');
    expect(result.stderr).toContain('to stderr');
    expect(result.stderr).toMatch(/waiting to be scheduled as rp\d{4}/);
    expect((await ledger()).jobs).toEqual([]);
    expect(await jobContainers()).toEqual([]);
    const history = (await readFile(join(rpHome, 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(history.at(-1) as string)).toMatchObject({
      ending: 'exited',
      exitCode: 3,
      command: 'hello.sh "big world"',
    });
  });

  it('runs as the host user in the project folder with exactly the granted cores and memory', async () => {
    await script(
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
    await script('log.sh', 'echo logged-line');
    const result = await run(['--script=log.sh', '--outfile_name', 'mylog']);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /output also goes to (\S+mylog_\d{8}_\d{6}\.log)/.exec(result.stderr);
    expect(match, result.stderr).not.toBeNull();
    expect(await readFile(match?.[1] as string, 'utf8')).toBe('logged-line\n');
  });

  it('runs two jobs that each take every core one after the other, and a third after both', async () => {
    await script(
      'hold.sh',
      'echo "$(date +%s.%N) start" >> output/$1.times; sleep 1; echo "$(date +%s.%N) end" >> output/$1.times',
    );
    const runs = ['a', 'b', 'c'].map((name) => run([`--script=hold.sh ${name}`, '--cpu', '2']));
    const results = await Promise.all(runs);
    for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
    const spans = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const [start, end] = (await readFile(join(dir, 'output', `${name}.times`), 'utf8'))
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
      await writeFile(join(dir, '.rp/paths.json'), JSON.stringify([`${data.dir}/`]));
      await script('mounts.sh', `cat ~/${data.dir.split('/').at(-1)}/sample.txt`);
      const result = await run(['--script=mounts.sh']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe('from the host');

      await writeFile(join(dir, '.rp/paths.json'), JSON.stringify(['/no/such/folder']));
      const missing = await run(['--script=mounts.sh']);
      expect(missing.exitCode).toBe(3);
      expect(missing.stderr).toContain('/no/such/folder does not exist');
      expect((await ledger()).jobs).toEqual([]);
    } finally {
      await writeFile(join(dir, '.rp/paths.json'), '[]');
      await data.cleanup();
    }
  });

  it('hands a GPU job exactly its GPUs and, without the NVIDIA runtime, fails with 125 leaving nothing behind', async () => {
    const gpuHome = join(dir, '.gpu-host');
    const gpuEnv = { RP_HOME: gpuHome };
    expect((await rp(['host', 'init'], { cwd: dir, env: gpuEnv })).exitCode).toBe(0);
    const config = JSON.parse(await readFile(join(gpuHome, 'config.json'), 'utf8')) as {
      capacity: Record<string, unknown>;
    };
    config.capacity.gpus = [{ index: 0 }, { index: 1 }, { index: 2 }];
    await writeFile(join(gpuHome, 'config.json'), JSON.stringify(config));
    await script('gpu.sh', 'nvidia-smi');
    const result = await rp(['run', '--script=gpu.sh', '--gpu', '2'], { cwd: dir, env: gpuEnv });
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/GPU 0,1/);
    expect(result.stderr).toContain('NVIDIA');
    expect(await jobContainers()).toEqual([]);
    const history = (await readFile(join(gpuHome, 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(history.at(-1) as string)).toMatchObject({
      grant: { gpus: [0, 1] },
      ending: 'failed',
    });
  });

  it('refuses at once a request larger than the machine, leaving nothing queued', async () => {
    const result = await run(['--script=hello.sh', '--cpu', '64']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/64 CPU/);
    expect((await ledger()).jobs).toEqual([]);
  });

  it('refuses a missing script before queueing', async () => {
    const result = await run(['--script=nope.sh']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('nope.sh: no such file');
  });

  it('runs two concurrent jobs of one project each with its own script', async () => {
    await script('one.sh', 'sleep 0.5; echo one');
    await script('two.sh', 'sleep 0.5; echo two');
    const [one, two] = await Promise.all([run(['--script=one.sh']), run(['--script=two.sh'])]);
    expect(one.stdout).toBe('one');
    expect(two.stdout).toBe('two');
  });

  it('exits 75 with --no-wait when the machine is busy, and queues nothing', async () => {
    await script('sleep.sh', 'echo started; sleep 30');
    const holder = execa(process.execPath, [RP_BIN, 'run', '--script=sleep.sh', '--cpu', '2'], {
      cwd: dir,
      env,
      reject: false,
    });
    await waitForOutput(holder, /started/);
    await script('noop.sh', 'true');
    const result = await run(['--script=noop.sh', '--no-wait']);
    expect(result.exitCode).toBe(75);
    expect((await ledger()).jobs.map((job) => job.state)).toEqual(['running']);

    // Ctrl+C on the running job: container stopped and removed, slot released, exit 130.
    holder.kill('SIGINT');
    const ended = await holder;
    expect(ended.exitCode).toBe(130);
    expect(await jobContainers()).toEqual([]);
    expect((await ledger()).jobs).toEqual([]);
  });

  it('rebuilds a corrupted ledger from the running containers, moving the garbage aside', async () => {
    await script('sleep.sh', 'echo started; sleep 30');
    const holder = execa(process.execPath, [RP_BIN, 'run', '--script=sleep.sh', '--cpu', '1'], {
      cwd: dir,
      env,
      reject: false,
    });
    await waitForOutput(holder, /started/);
    const [running] = (await ledger()).jobs;
    expect(running?.state).toBe('running');

    // Given garbage in the ledger, when any rp process next touches it,
    await writeFile(join(rpHome, 'ledger.json'), '{"version": 1, "jobs": [ garbage');
    await script('noop.sh', 'true');
    const other = await run(['--script=noop.sh', '--cpu', '2', '--no-wait']);
    expect(other.stderr).toContain('ledger');

    // then the running job is known again, and the garbage is kept aside.
    expect((await ledger()).jobs.map((job) => job.id)).toEqual([running?.id]);
    const aside = (await readdir(rpHome)).filter((name) => name.startsWith('ledger.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(rpHome, aside[0] as string), 'utf8')).toContain('garbage');

    holder.kill('SIGINT');
    expect((await holder).exitCode).toBe(130);
    expect((await ledger()).jobs).toEqual([]);
  });

  it('keeps the resources of a job whose rp process was SIGKILLed until its container exits', async () => {
    await script('short.sh', 'echo started; sleep 4; echo done > output/short.done');
    const holder = execa(process.execPath, [RP_BIN, 'run', '--script=short.sh', '--cpu', '2'], {
      cwd: dir,
      env,
      reject: false,
    });
    await waitForOutput(holder, /started/);
    holder.kill('SIGKILL');
    await holder;
    // The container runs on without its supervisor and still holds every core,
    await script('noop.sh', 'true');
    const busy = await run(['--script=noop.sh', '--no-wait']);
    expect(busy.exitCode).toBe(75);
    // and once it has exited, a waiting job gets them without anyone restarting anything.
    await script('after.sh', 'cat output/short.done');
    const after = await run(['--script=after.sh', '--cpu', '2']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stdout).toBe('done');
    expect((await ledger()).jobs).toEqual([]);
    const leftovers = await jobContainers();
    if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
  });
});

async function waitForOutput(child: ReturnType<typeof execa>, pattern: RegExp): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; saw: ${seen}`)),
      60_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
