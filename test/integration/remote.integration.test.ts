import { execa, type ResultPromise } from 'execa';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RP_BIN, type RpResult } from '../support/cli.js';
import { assertDockerForCi, BASE_IMAGE, docker, removeProjectImages } from '../support/docker.js';
import { until, waitForOutput } from '../support/rp-project.js';
import {
  childSshPids,
  masterPids,
  skipWithoutSsh,
  startSshServer,
  type SshServer,
} from '../support/ssh-server.js';
import { makeTempDir } from '../support/tmp.js';

/**
 * `rp ... --on` from a "laptop" (this process, as root, with no RP_HOME) to a real OpenSSH server
 * on 127.0.0.1 (scripts/ssh/start.sh: another Unix user, in the docker group, with its own
 * RP_HOME), and the real Docker engine behind it.
 */
describe.skipIf(skipWithoutSsh)('rp --on a server over ssh', () => {
  let server: SshServer;
  let laptop: string;
  let cleanupLaptop: () => Promise<void>;
  let project: string;
  /** The project's folder on the server, as its rp sees it. */
  let remoteProject: string;
  let env: Record<string, string>;
  const remoteRoot = `rp-remote-test-${process.pid}`;

  const rp = (args: string[], extraEnv: Record<string, string> = {}): Promise<RpResult> =>
    execa(process.execPath, [RP_BIN, ...args], {
      cwd: project,
      env: { ...env, ...extraEnv },
      reject: false,
      stdin: 'ignore',
    }).then((r) => ({ exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr }));

  const startRp = (args: string[], extraEnv: Record<string, string> = {}): ResultPromise =>
    execa(process.execPath, [RP_BIN, ...args], {
      cwd: project,
      env: { ...env, ...extraEnv },
      reject: false,
      stdin: 'ignore',
    });

  /** Runs a shell command on the server as its user. */
  const onServer = (command: string) =>
    execa('ssh', ['-F', server.config, server.alias, command], { reject: false });

  const script = async (name: string, body: string): Promise<void> => {
    await writeFile(join(project, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  };

  const runningContainers = async (): Promise<string[]> =>
    (await docker(['ps', '-q', '--filter', `label=rp.project-path=${remoteProject}`])).stdout
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    assertDockerForCi();
    server = await startSshServer();
    ({ dir: laptop, cleanup: cleanupLaptop } = await makeTempDir('rp-remote-'));
    project = join(laptop, 'proj');
    await mkdir(project);
    const controlDir = join(laptop, 'ssh');
    await mkdir(controlDir, { mode: 0o700 });
    env = {
      NO_COLOR: '1',
      // The laptop has no host of its own and no Docker: rp must need neither.
      RP_HOME: join(laptop, 'no-host'),
      DOCKER_HOST: `unix://${join(laptop, 'no-docker.sock')}`,
      RP_REMOTES_FILE: join(laptop, 'remotes.json'),
      RP_SSH_CONFIG: server.config,
      RP_SSH_CONTROL_DIR: controlDir,
    };
    const init = await rp([
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
    const added = await rp(['remote', 'add', 'box', server.alias, '--path', `~/${remoteRoot}`]);
    expect(added.exitCode, added.stderr).toBe(0);
    remoteProject = `${server.home}/${remoteRoot}/proj`;
  });

  afterAll(async () => {
    if (!server) return;
    const leftovers = (
      await docker(['ps', '-aq', '--filter', `label=rp.project-path=${remoteProject}`])
    ).stdout
      .split('\n')
      .filter(Boolean);
    if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
    await removeProjectImages(remoteProject);
    await onServer(`rm -rf ~/${remoteRoot}`);
    for (const pid of await masterPids(
      env.RP_SSH_CONTROL_DIR as string,
      server.config,
      server.alias,
    ).catch(() => [])) {
      process.kill(pid, 'SIGTERM');
    }
    await cleanupLaptop?.();
  });

  it('lists, adds and removes remotes, as a table and as JSON', async () => {
    const list = await rp(['remote', 'list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      { name: 'box', target: server.alias, path: `~/${remoteRoot}`, port: null, rp: 'rp' },
    ]);
    expect(
      (await rp(['remote', 'add', 'other', 'me@example.org', '--port', '2222'])).exitCode,
    ).toBe(0);
    expect((await rp(['remote', 'list'])).stdout).toMatch(/other\s+me@example\.org\s+2222/);
    const again = await rp(['remote', 'add', 'other', 'x@y']);
    expect(again.exitCode).toBe(3);
    expect(again.stderr).toContain('already a remote named other');
    expect((await rp(['remote', 'remove', 'other'])).exitCode).toBe(0);
    const unknown = await rp(['ps', '--on', 'nowhere']);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/no remote named nowhere[\s\S]*known remotes: box/);
  });

  it('a remote run logs in once: every step shares one ssh connection', async () => {
    // Given no shared connection open yet
    for (const pid of await masterPids(
      env.RP_SSH_CONTROL_DIR as string,
      server.config,
      server.alias,
    )) {
      process.kill(pid, 'SIGTERM');
    }
    await until('the shared connection to close', async () =>
      (await masterPids(env.RP_SSH_CONTROL_DIR as string, server.config, server.alias)).length === 0
        ? true
        : undefined,
    );
    await script('once.sh', 'echo once');
    const logins = async (): Promise<number> =>
      (await readFile(server.log, 'utf8'))
        .split('\n')
        .filter((line) => line.startsWith(`Accepted publickey for ${server.user} `)).length;
    const before = await logins();
    // When a run checks rp there, sends the project, submits and follows the job
    const result = await rp(['run', '--on', 'box', '--script=once.sh']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('once');
    // Then sshd saw one login
    expect((await logins()) - before).toBe(1);
  });

  it('streams stdout and stderr apart, line by line while the job runs, and exits with its code', async () => {
    // Given a script that prints a line every 0.6 s on stdout and on stderr, then exits 3
    await script(
      'ticks.sh',
      'for i in 1 2 3 4 5; do echo "tick $i"; echo "tock $i" >&2; sleep 0.6; done; exit 3',
    );
    // When it runs on the server from here
    const started = Date.now();
    const child = startRp(['run', '--on', 'box', '--script=ticks.sh']);
    const arrivals: Array<{ line: string; at: number }> = [];
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) arrivals.push({ line, at: Date.now() });
    });
    const result = await child;
    const ended = Date.now();
    // Then the exit code is the script's, stdout has only stdout and stderr only stderr
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(arrivals.map((a) => a.line)).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5']);
    expect(String(result.stderr)).toMatch(/tock 1\ntock 2\ntock 3\ntock 4\ntock 5/);
    expect(String(result.stderr)).toMatch(/waiting to be scheduled as rp\d{4}/);
    // And the lines came as they were printed, not all at the end: the first ~2.4 s before the last
    const first = arrivals[0]?.at as number;
    const last = arrivals[4]?.at as number;
    expect(last - first).toBeGreaterThan(1500);
    expect(ended - first).toBeGreaterThan(1500);
    expect(first).toBeGreaterThan(started);
  });

  it('sends the project without ignored files, results or .git, and refuses an upload over --max-upload', async () => {
    // Given files that .gitignore, .rpignore and the result folders keep here
    await writeFile(
      join(project, '.gitignore'),
      `${await readFile(join(project, '.gitignore'), 'utf8')}secret.txt\n`,
    );
    await writeFile(join(project, '.rpignore'), 'data/\n');
    await mkdir(join(project, 'data'), { recursive: true });
    await mkdir(join(project, 'output'), { recursive: true });
    await mkdir(join(project, '.git'), { recursive: true });
    await writeFile(join(project, 'data/big.bin'), Buffer.alloc(3 * 1024 * 1024));
    await writeFile(join(project, 'secret.txt'), 'no');
    await writeFile(join(project, 'output/local.txt'), 'no');
    await writeFile(join(project, '.git/HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(project, 'kept.txt'), 'yes');
    await script(
      'look.sh',
      'for f in kept.txt secret.txt data/big.bin output/local.txt .git/HEAD .rpignore; do [ -e "$f" ] && echo "present $f" || echo "absent $f"; done',
    );
    // When it runs on the server
    const result = await rp(['run', '--on', 'box', '--script=look.sh']);
    // Then only what is not ignored is there
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'present kept.txt',
      'absent secret.txt',
      'absent data/big.bin',
      'absent output/local.txt',
      'absent .git/HEAD',
      'present .rpignore',
    ]);
    expect(result.stderr).toMatch(
      /rp: sending \d+ files? \([\d.]+ [KM]?i?B\) to box:~\/rp-remote-test-\d+\/proj/,
    );

    // Given a large file that nothing ignores
    await writeFile(join(project, 'weights.bin'), Buffer.alloc(2 * 1024 * 1024));
    // When the upload limit is 1 MiB
    const refused = await rp(['run', '--on', 'box', '--script=look.sh', '--max-upload', '1m']);
    // Then nothing runs, and the error lists the largest file
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toMatch(
      /over --max-upload \(1\.0 MiB\); the largest files:\n\s+2\.0 MiB\s+weights\.bin/,
    );
    expect(refused.stdout).toBe('');
    await rm(join(project, 'weights.bin'));
  });

  it('Ctrl+C on the laptop stops the job and its container on the server', async () => {
    await script('forever.sh', 'echo started; sleep 300');
    const child = startRp(['run', '--on', 'box', '--script=forever.sh']);
    await waitForOutput(child, /started/, { timeoutMs: 90_000 });
    expect(await runningContainers()).toHaveLength(1);
    // When Ctrl+C reaches rp
    child.kill('SIGINT');
    const result = await child;
    // Then rp exits 130, as a local rp run would, and no container of the project runs there
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toMatch(/stopping rp\d{4} on box/);
    expect(await runningContainers()).toEqual([]);
  });

  it('a dropped connection does not end the job: rp reconnects and resumes with no line lost or repeated', async () => {
    await script('count.sh', 'for i in $(seq 1 40); do echo "line $i"; sleep 0.1; done');
    const child = startRp(['run', '--on', 'box', '--script=count.sh']);
    await waitForOutput(child, /line 5\n/, { timeoutMs: 90_000 });
    // When the shared connection and rp's follower ssh are killed mid-job (the link is gone)
    const ssh = [
      ...(await masterPids(env.RP_SSH_CONTROL_DIR as string, server.config, server.alias)),
      ...(await childSshPids(child.pid as number)),
    ];
    expect(ssh.length).toBeGreaterThanOrEqual(2);
    for (const pid of ssh) process.kill(pid, 'SIGKILL');
    const result = await child;
    // Then every line came exactly once, in order, and the job's exit code
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout).split('\n')).toEqual(
      Array.from({ length: 40 }, (_, i) => `line ${i + 1}`),
    );
    expect(String(result.stderr)).toMatch(
      /lost the connection to box; reconnecting[\s\S]*reconnected to box; resuming/,
    );
  });

  it('when rp itself dies mid-job, rp logs --on ID -f gives the whole output, once', async () => {
    await script(
      'count2.sh',
      'for i in $(seq 1 30); do echo "n $i"; echo "e $i" >&2; sleep 0.1; done',
    );
    const child = startRp(['run', '--on', 'box', '--script=count2.sh']);
    const id = (
      await waitForOutput(child, /waiting to be scheduled as rp(\d{4})/, {
        stream: 'stderr',
        timeoutMs: 90_000,
      })
    )[1] as string;
    await waitForOutput(child, /n 3\n/, { timeoutMs: 60_000 });
    // When the laptop's rp and its ssh are killed (laptop closed)
    const followers = await childSshPids(child.pid as number);
    child.kill('SIGKILL');
    for (const pid of followers) process.kill(pid, 'SIGKILL');
    await child;
    // Then following it again prints every line once, stdout and stderr apart
    const logs = await rp(['logs', '--on', 'box', id, '-f']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout.split('\n')).toEqual(Array.from({ length: 30 }, (_, i) => `n ${i + 1}`));
    expect(logs.stderr.split('\n')).toEqual(Array.from({ length: 30 }, (_, i) => `e ${i + 1}`));
  });

  it('when the connection cannot be made again, the job runs on and rp says how to follow it', async () => {
    // Given a laptop whose key goes away mid-job (its own copy of the ssh config and key)
    const config = join(laptop, 'ssh-config');
    const key = join(laptop, 'key');
    await copyFile(server.identity, key);
    await chmod(key, 0o600);
    await writeFile(config, (await readFile(server.config, 'utf8')).replace(server.identity, key));
    await script('slow.sh', 'for i in $(seq 1 8); do echo "s $i"; sleep 0.5; done');
    const child = startRp(['run', '--on', 'box', '--script=slow.sh'], {
      RP_SSH_CONFIG: config,
      RP_REMOTE_RECONNECT_S: '2',
    });
    const id = (
      await waitForOutput(child, /waiting to be scheduled as rp(\d{4})/, {
        stream: 'stderr',
        timeoutMs: 90_000,
      })
    )[1] as string;
    await waitForOutput(child, /s 1\n/, { timeoutMs: 60_000 });
    await rm(key);
    for (const pid of [
      ...(await masterPids(env.RP_SSH_CONTROL_DIR as string, config, server.alias)),
      ...(await childSshPids(child.pid as number)),
    ]) {
      process.kill(pid, 'SIGKILL');
    }
    // When rp gives up reconnecting
    const result = await child;
    // Then it exits 255, naming the job and how to follow it, and the job ends by itself there
    expect(result.exitCode, String(result.stderr)).toBe(255);
    expect(String(result.stderr)).toContain(
      `rp: cannot reconnect to box; rp${id} goes on running there`,
    );
    expect(String(result.stderr)).toContain(`follow it with: rp logs --on box ${id} -f`);
    const logs = await rp(['logs', '--on', 'box', id, '-f']);
    expect(logs.stdout.split('\n')).toEqual(Array.from({ length: 8 }, (_, i) => `s ${i + 1}`));
  });

  it('--detach returns the job id; logs -f follows it; pull brings output/ and its log back; ps, queue and kill work', async () => {
    await script('result.sh', 'mkdir -p output; echo "answer $1" > output/result.txt; echo done');
    const submitted = await rp(['run', '--on', 'box', '--detach', '--script=result.sh 42']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const id = /rp(\d{4}) runs in the background/.exec(submitted.stdout)?.[1] as string;
    expect(id, submitted.stdout).toBeDefined();
    const logs = await rp(['logs', '--on', 'box', id, '-f']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('done');
    // The laptop's own output/local.txt stays; the server's result comes next to it
    const pulled = await rp(['pull', '--on', 'box', id]);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(await readFile(join(project, 'output/result.txt'), 'utf8')).toBe('answer 42\n');
    expect(await readFile(join(project, 'output/local.txt'), 'utf8')).toBe('no');
    const log = (await execa('ls', [join(project, '.rp/logs')])).stdout;
    expect(log).toMatch(new RegExp(`_${id}\\.log`));

    // ps, queue and kill of a detached job on the server
    await script('wait.sh', 'sleep 300');
    const long = await rp(['run', '--on', 'box', '--detach', '--script=wait.sh']);
    const longId = /rp(\d{4}) runs in the background/.exec(long.stdout)?.[1] as string;
    const running = await until('the job to run', async () => {
      const ps = await rp(['ps', '--on', 'box', '--json']);
      const status = JSON.parse(ps.stdout) as { running: Array<{ id: string }> };
      return status.running.some((job) => job.id === longId) ? status : undefined;
    });
    expect(running.running.map((job) => job.id)).toContain(longId);
    const queue = await rp(['queue', '--on', 'box', '--json']);
    expect(queue.exitCode, queue.stderr).toBe(0);
    expect(JSON.parse(queue.stdout)).toHaveProperty('queue');
    const killed = await rp(['kill', '--on', 'box', longId]);
    expect(killed.exitCode, killed.stderr).toBe(0);
    await until('the container to go', async () =>
      (await runningContainers()).length === 0 ? true : undefined,
    );
  });

  it('rp enter --on opens a shell in a container there, in a terminal, and exits with its code', async () => {
    // `script` gives rp the terminal a user's would be.
    const child = execa(
      'script',
      ['-qec', `${process.execPath} ${RP_BIN} enter --on box`, '/dev/null'],
      {
        cwd: project,
        env: { ...env, TERM: 'dumb' },
        reject: false,
      },
    );
    await waitForOutput(child, /rp\d{4} running:/, { timeoutMs: 120_000 });
    child.stdin?.write('echo "inside $(whoami) $(pwd)"; exit 4\n');
    const result = await child;
    expect(String(result.stdout)).toContain(`inside ${server.user} ${server.home}/proj`);
    expect(result.exitCode, String(result.stdout)).toBe(4);
  });

  it('says clearly when rp is missing on the server, or ssh or rsync here', async () => {
    expect(
      (await rp(['remote', 'add', 'norp', server.alias, '--rp', '/nowhere/rp'])).exitCode,
    ).toBe(0);
    const noRp = await rp(['ps', '--on', 'norp']);
    expect(noRp.exitCode).toBe(3);
    expect(noRp.stderr).toContain('rp is not installed on norp');
    expect(noRp.stderr).not.toMatch(/\n\s+at /);

    // An rp there older than this one (what its --version prints, as oclif prints it).
    const oldRp = `${server.home}/${remoteRoot}/old-rp`;
    const made = await onServer(
      `mkdir -p ~/${remoteRoot} && printf '#!/bin/sh\\necho "rp/0.0.1 linux-x64 node-v20.19.0"\\n' > ${oldRp} && chmod +x ${oldRp}`,
    );
    expect(made.exitCode, made.stderr).toBe(0);
    expect((await rp(['remote', 'add', 'oldrp', server.alias, '--rp', oldRp])).exitCode).toBe(0);
    const older = await rp(['ps', '--on', 'oldrp']);
    expect(older.exitCode).toBe(3);
    expect(older.stderr).toMatch(/rp on oldrp is 0\.0\.1, older than this rp \(\d+\.\d+\.\d+\)/);

    // A PATH with ssh but no rsync, then with neither.
    const bin = join(laptop, 'bin');
    await mkdir(bin, { recursive: true });
    await execa('ln', ['-sf', (await execa('which', ['ssh'])).stdout, join(bin, 'ssh')]);
    const noRsync = await rp(['run', '--on', 'box', '--script=look.sh'], { PATH: bin });
    expect(noRsync.exitCode).toBe(3);
    expect(noRsync.stderr).toContain('rsync is not installed on this machine');
    const noSsh = await rp(['ps', '--on', 'box'], { PATH: join(laptop, 'empty') });
    expect(noSsh.exitCode).toBe(3);
    expect(noSsh.stderr).toContain('ssh is not installed on this machine');
  });
});
