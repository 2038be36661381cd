import { execa, type ResultPromise } from 'execa';
import { appendFile, chmod, cp, lstat, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp, RP_BIN, type RpResult } from '../support/cli.js';
import {
  assertDockerForCi,
  docker,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { activityHost, activityOutput, countOf, shellAs } from '../support/activities.js';
import { readHistory, until, type HistoryRecord } from '../support/rp-project.js';
import { killSupervisors } from '../support/supervisors.js';
import { makeTempDir } from '../support/tmp.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

const EXAMPLE = new URL('../../examples/wordcount/', import.meta.url).pathname;

/**
 * Drop-folder activities on the real engine, as two real non-root users: files copied into the
 * drop folder run as jobs of their owner, with results in the owner's home; refusals land in
 * failed/ with a reason; two drains never run one file twice; a failed job keeps its input.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('drop-folder activities (real Docker)', () => {
  const users: UnixUser[] = [];
  let host: { dir: string; cleanup: () => Promise<void> };
  let rpHome: string;
  let project: string;
  let watcher: ResultPromise | undefined;
  const env = (): Record<string, string> => ({ RP_HOME: rpHome });
  const asRoot = (args: string[]): Promise<RpResult> => rp(args, { cwd: host.dir, env: env() });
  const { dropDir, failedDir, records, endedJob } = activityHost(() => rpHome);
  const shell = shellAs;
  const outputOf = activityOutput;

  beforeAll(async () => {
    assertDockerForCi();
    host = await makeTempDir('rp-drop-');
    await chmod(host.dir, 0o755);
    rpHome = join(host.dir, 'host');
    expect((await asRoot(['host', 'init'])).exitCode).toBe(0);
    // The example activity, and a script of it that fails after writing its log.
    project = join(host.dir, 'wordcount');
    await cp(EXAMPLE, project, { recursive: true });
    await writeFile(
      join(project, 'fail.sh'),
      '#!/bin/bash\necho "cannot read $RP_INPUT"\nexit 3\n',
      {
        mode: 0o755,
      },
    );
    for (const prefix of ['rpda', 'rpdb']) users.push(await createUnixUser(prefix));
    const add = async (name: string, args: string[]): Promise<void> => {
      const added = await asRoot(['activity', 'add', name, '--project', project, ...args]);
      expect(added.exitCode, added.stderr).toBe(0);
    };
    await add('wordcount', ['--script', 'count.sh', '--accept', '*.txt', '--stable-seconds', '3']);
    await add('wcfail', ['--script', 'fail.sh', '--stable-seconds', '0']);
    await add('wcrace', ['--script', 'count.sh', '--stable-seconds', '0']);
  }, 120_000);

  afterAll(async () => {
    watcher?.kill('SIGTERM');
    await watcher?.catch(() => undefined);
    if (rpHome) await killSupervisors(rpHome);
    if (project) await removeProjectImages(project);
    for (const user of users) await removeUnixUser(user);
    await host?.cleanup();
  });

  it('serves a file present before the watch started, and the admin sees it all', async () => {
    const [alice] = users as [UnixUser];
    const dropped = await shell(
      alice,
      `printf 'one two three\\n' > ${dropDir('wordcount')}/early.txt`,
    );
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    watcher = execa(
      process.execPath,
      [RP_BIN, 'activity', 'watch', 'wordcount', 'wcfail', '--interval', '1'],
      {
        cwd: host.dir,
        env: env(),
        reject: false,
      },
    );
    const record = await endedJob('wordcount', 'early.txt');
    expect(record).toMatchObject({ ending: 'exited', exitCode: 0, user: alice.name });
    const count = await countOf(alice, 'wordcount', 'early', record.id);
    expect(count).toContain('words 3');

    const history = await asRoot(['history', '--all', '--json']);
    const listed = (JSON.parse(history.stdout) as Array<{ id: string; project: string }>).find(
      (job) => job.id === record.id,
    );
    expect(listed?.project).toBe('activity:wordcount');
  });

  it("runs a copied file as its owner, results in the owner's folder; others can neither list nor remove it", async () => {
    const [alice, bob] = users as [UnixUser, UnixUser];
    const drop = dropDir('wordcount');
    // bob's file waits in the folder, marked complete only later, while bob and alice poke at it.
    expect((await shell(bob, `printf 'b\\n' > ${drop}/bobs.txt`)).exitCode).toBe(0);
    const list = await shell(alice, `ls ${drop}`);
    expect(list.exitCode).not.toBe(0);
    expect(list.stderr).toMatch(/Permission denied/);
    const remove = await shell(alice, `rm -f ${drop}/bobs.txt`);
    expect(remove.stderr).toMatch(/Operation not permitted/);

    expect(
      (await shell(alice, `printf 'a b c d\\ne f\\n' > /tmp/notes-${alice.name}.txt`)).exitCode,
    ).toBe(0);
    const copied = await shell(alice, `cp /tmp/notes-${alice.name}.txt ${drop}/notes.txt`);
    expect(copied.exitCode, copied.stderr).toBe(0);
    const record = await endedJob('wordcount', 'notes.txt');
    expect(record).toMatchObject({
      ending: 'exited',
      exitCode: 0,
      user: alice.name,
      uid: alice.uid,
    });
    const output = outputOf(alice, 'wordcount', 'notes', record.id);
    for (const path of [output, join(output, 'count.txt'), join(output, 'job.log')]) {
      expect((await stat(path)).uid, path).toBe(alice.uid);
    }
    expect(await readFile(join(output, 'count.txt'), 'utf8')).toContain('words 6');
    expect(await readFile(join(output, 'job.log'), 'utf8')).toContain('counting notes.txt');
    const logs = await rp(['logs', record.id], { cwd: '/', env: env(), asUser: alice.name });
    expect(logs.stdout, logs.stderr).toContain('counting notes.txt');
    // The input is removed after a success: nothing of alice's is left on the server.
    await until('the input to be settled', async () =>
      (await readdir(join(rpHome, 'activities', 'wordcount', 'work'))).length === 0
        ? true
        : undefined,
    );
    expect((await endedJob('wordcount', 'bobs.txt')).user).toBe(bob.name);
  });

  it('does not take a file while its writer pauses, only once it is complete', async () => {
    const [alice] = users as [UnixUser];
    // The writer pauses 2 s: longer than the watch's 1 s poll, shorter than the 3 s of quiet.
    const writer = await shell(
      alice,
      `f=${dropDir('wordcount')}/slow.txt; printf 'w1 w2 w3 ' > $f; sleep 2; printf 'w4 w5\\n' >> $f`,
    );
    expect(writer.exitCode, writer.stderr).toBe(0);
    const record = await endedJob('wordcount', 'slow.txt');
    const count = await countOf(alice, 'wordcount', 'slow', record.id);
    expect(count).toContain('words 5');
  });

  it('moves a symbolic link and a name not accepted to failed/, with the reason', async () => {
    const [alice] = users as [UnixUser];
    const drop = dropDir('wordcount');
    await shell(alice, `ln -s /etc/shadow ${drop}/secret.txt; printf 'x\\n' > ${drop}/report.pdf`);
    const failed = failedDir('wordcount');
    const reason = (name: string): Promise<string> =>
      until(`the reason for ${name}`, () =>
        readFile(join(failed, `${name}.reason`), 'utf8').catch(() => undefined),
      );
    expect(await reason('secret.txt')).toContain('symbolic link');
    expect(await reason('report.pdf')).toContain('does not match *.txt');
    expect((await lstat(join(failed, 'secret.txt'))).isSymbolicLink()).toBe(true);
    expect((await stat(join(failed, 'report.pdf.reason'))).uid).toBe(alice.uid);
    const status = await asRoot(['activity', 'status', 'wordcount', '--json']);
    const [wordcount] = JSON.parse(status.stdout) as Array<{ failures: Array<{ input: string }> }>;
    expect(wordcount?.failures.map((failure) => failure.input)).toEqual(
      expect.arrayContaining(['secret.txt', 'report.pdf']),
    );
  });

  it("keeps the input of a failed job beside its log, in the owner's folder", async () => {
    const [alice] = users as [UnixUser];
    await shell(alice, `printf 'precious data\\n' > ${dropDir('wcfail')}/data.txt`);
    const record = await endedJob('wcfail', 'data.txt');
    expect(record).toMatchObject({ ending: 'exited', exitCode: 3 });
    const output = outputOf(alice, 'wcfail', 'data', record.id);
    await until('the input to be settled', async () =>
      (await readdir(join(rpHome, 'activities', 'wcfail', 'work'))).length === 0 ? true : undefined,
    );
    const kept = await readFile(join(output, 'input'), 'utf8');
    expect(kept).toBe('precious data\n');
    expect((await stat(join(output, 'input'))).uid).toBe(alice.uid);
    expect(await readFile(join(output, 'job.log'), 'utf8')).toContain(
      'cannot read /input/data.txt',
    );
  });

  it('runs each file exactly once when two drains serve the folder at the same time', async () => {
    const [alice, bob] = users as [UnixUser, UnixUser];
    const names = ['r1.txt', 'r2.txt', 'r3.txt', 'r4.txt', 'r5.txt', 'r6.txt'];
    for (const [index, name] of names.entries()) {
      const owner = index % 2 === 0 ? alice : bob;
      await shell(owner, `printf '${name}\\n' > ${dropDir('wcrace')}/${name}`);
    }
    const drains = await Promise.all([
      asRoot(['activity', 'drain', 'wcrace', '--json']),
      asRoot(['activity', 'drain', 'wcrace', '--json']),
    ]);
    const queued = drains.flatMap((drain) => {
      expect(drain.exitCode, drain.stderr).toBe(0);
      return (JSON.parse(drain.stdout) as { queued: Array<{ input: string }> }).queued;
    });
    expect(queued.map((entry) => entry.input).sort()).toEqual(names);
    for (const name of names) await endedJob('wcrace', name);
    const ran = (await records('wcrace')).map((record) => record.activity?.input).sort();
    expect(ran).toEqual(names);
    expect(await readdir(dropDir('wcrace'))).toEqual([]);
  });
});

describe.skipIf(skipWithoutDocker || !runningAsRoot)('a drain while Docker does not answer', () => {
  it('keeps the claimed file, refusing nothing, and queues it once Docker answers', async () => {
    const host = await makeTempDir('rp-defer-');
    const user = await createUnixUser('rpde');
    const env = { RP_HOME: join(host.dir, 'host') };
    const project = join(host.dir, 'wordcount');
    try {
      await chmod(host.dir, 0o755);
      await cp(EXAMPLE, project, { recursive: true });
      expect((await rp(['host', 'init'], { cwd: host.dir, env })).exitCode).toBe(0);
      const add = ['activity', 'add', 'wc', '--project', project, '--script', 'count.sh'];
      expect((await rp([...add, '--stable-seconds', '0'], { cwd: host.dir, env })).exitCode).toBe(
        0,
      );
      const drop = join(env.RP_HOME, 'drop', 'wc');
      await execa('runuser', ['-u', user.name, '--', 'bash', '-c', `echo a b > ${drop}/d.txt`]);
      const drain = (extra: Record<string, string> = {}) =>
        rp(['activity', 'drain', '--json'], { cwd: host.dir, env: { ...env, ...extra } });

      const down = await drain({ DOCKER_HOST: `unix://${host.dir}/no-docker.sock` });
      expect(down.exitCode, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout)).toMatchObject({ queued: [], refused: [], deferred: 1 });
      expect(await readdir(join(env.RP_HOME, 'activities', 'wc', 'failed'))).toEqual([]);

      const up = await drain();
      expect(JSON.parse(up.stdout)).toMatchObject({ queued: [{ input: 'd.txt' }], deferred: 0 });
      const ended = await until('the job to end', async () => (await readHistory(env.RP_HOME))[0]);
      expect(ended).toMatchObject({ ending: 'exited', exitCode: 0 });
    } finally {
      await killSupervisors(env.RP_HOME);
      await removeProjectImages(project);
      await removeUnixUser(user);
      await host.cleanup();
    }
  }, 180_000);
});

describe.skipIf(skipWithoutDocker || !runningAsRoot)('an activity from add to remove', () => {
  it('lists and shows it, takes an rp drop marked .done at once, keeps the input, and removes it', async () => {
    const host = await makeTempDir('rp-act-life-');
    const user = await createUnixUser('rpal');
    const env = { RP_HOME: join(host.dir, 'host') };
    const project = join(host.dir, 'wordcount');
    const root = (args: string[]) => rp(args, { cwd: host.dir, env });
    try {
      await chmod(host.dir, 0o755);
      await cp(EXAMPLE, project, { recursive: true });
      // The job also says when its time runs out (epoch seconds), to check the activity's --time,
      // tries to change its input, and runs until the test lets it end (a file "go" in its output).
      await appendFile(
        join(project, 'count.sh'),
        [
          'echo "$RP_DEADLINE" > "$RP_OUTPUT/deadline"',
          'if echo x >> "$RP_INPUT"; then echo writable; else echo read-only; fi > "$RP_OUTPUT/input-mode"',
          'while [ ! -e "$RP_OUTPUT/go" ]; do sleep 0.2; done',
          '',
        ].join('\n'),
      );
      expect((await root(['host', 'init'])).exitCode).toBe(0);
      // An hour of quiet: only NAME.done makes a file complete in this test.
      const added = await root([
        'activity',
        'add',
        'wc',
        '--project',
        project,
        '--script',
        'count.sh',
        '--cpu',
        '1',
        '--gpu',
        '0',
        '--mem',
        '0.75',
        '--time',
        '10m',
        '--keep-input',
        '--max-size',
        '1k',
        '--stable-seconds',
        '3600',
        '--drop-dir',
        join(host.dir, 'srvrs', 'wc'),
      ]);
      expect(added.exitCode, added.stderr).toBe(0);
      // The drop folder is where --drop-dir says: anyone may add, nobody may list (1733), and the
      // activity has its own areas for claimed and refused files
      const drop = join(host.dir, 'srvrs', 'wc');
      expect(added.stdout).toContain(`scp FILE `);
      expect(added.stdout).toContain(`:${drop}/`);
      expect((await stat(drop)).mode & 0o7777).toBe(0o1733);
      expect(await readdir(join(env.RP_HOME, 'activities', 'wc'))).toEqual(
        expect.arrayContaining(['failed', 'work']),
      );
      const listed = JSON.parse((await root(['activity', 'list', '--json'])).stdout) as Array<{
        name: string;
      }>;
      expect(listed.map((activity) => activity.name)).toEqual(['wc']);
      const shown = JSON.parse((await root(['activity', 'show', 'wc', '--json'])).stdout) as {
        maxSizeBytes: number;
        keepInput: boolean;
        request: { cpus: number };
      };
      expect(shown).toMatchObject({
        maxSizeBytes: 1024,
        keepInput: true,
        request: { cpus: 1, gpus: 0, memoryGb: 0.75 },
        time: '10m',
      });

      const as = (args: string[]) => rp(args, { cwd: '/', env, asUser: user.name });
      await execa('runuser', [
        '-u',
        user.name,
        '--',
        'bash',
        '-c',
        `echo one two > /tmp/${user.name}-k.txt; head -c 2000 /dev/zero > /tmp/${user.name}-big.txt`,
      ]);
      const big = await as(['drop', 'wc', `/tmp/${user.name}-big.txt`]);
      expect(big.exitCode).toBe(2);
      expect(big.stderr).toContain("larger than the activity's limit of 1024 bytes");
      const dropped = await as(['drop', 'wc', `/tmp/${user.name}-k.txt`]);
      expect(dropped.exitCode, dropped.stderr).toBe(0);
      // rp activity status counts the file as waiting to be complete
      type Status = { waiting: number; jobs: Array<{ id: string; state: string; input: string }> };
      const status = async (): Promise<Status> =>
        (JSON.parse((await root(['activity', 'status', 'wc', '--json'])).stdout) as Status[])[0]!;
      expect(await status()).toMatchObject({ waiting: 1, jobs: [] });
      // A drain would wait for the file's hour of quiet; its NAME.done makes it complete now.
      await execa('runuser', ['-u', user.name, '--', 'touch', `${drop}/${user.name}-k.txt.done`]);
      const drained = await root(['activity', 'drain', '--json']);
      const [queued] = (JSON.parse(drained.stdout) as { queued: Array<{ job: string }> }).queued;
      expect(queued?.job).toMatch(/^\d{4}$/);
      const output = join('/home', user.name, 'rp-output', 'wc', `${user.name}-k-${queued?.job}`);
      // While the job runs, rp activity status lists it with its input, and nothing waits
      await until('the job to run', async () =>
        (await status()).jobs[0]?.state === 'running' ? true : undefined,
      );
      expect(await status()).toMatchObject({
        waiting: 0,
        jobs: [{ id: queued?.job, input: `${user.name}-k.txt`, state: 'running' }],
      });
      // and rp ps lists it under its activity, as its owner's job
      const ps = JSON.parse((await root(['ps', '--json'])).stdout) as {
        running: Array<{ id: string; user: string; project: string }>;
      };
      expect(ps.running).toContainEqual(
        expect.objectContaining({ id: queued?.job, user: user.name, project: 'activity:wc' }),
      );
      await execa('runuser', ['-u', user.name, '--', 'touch', join(output, 'go')]);
      const ran = (await until(
        'the job to end',
        async () => (await readHistory(env.RP_HOME))[0],
      )) as HistoryRecord & { user: string; startedAt?: string; grant?: { cpus: number[] } };
      // The job got the activity's resources and time limit, whatever the project's own say.
      expect(ran).toMatchObject({ user: user.name, grant: { gpus: [], memoryMb: 768 } });
      expect(ran.grant?.cpus).toHaveLength(1);
      await root(['activity', 'drain']);
      expect(await readFile(join(output, 'input'), 'utf8')).toBe('one two\n');
      // The input was mounted read-only: the job could not change it
      expect(await readFile(join(output, 'input-mode'), 'utf8')).toBe('read-only\n');
      const deadline = Number(await readFile(join(output, 'deadline'), 'utf8')) * 1000;
      const limit = deadline - Date.parse(ran.startedAt as string);
      // 10 minutes from its start, give or take the moments between recording and starting.
      expect(limit).toBeGreaterThan(590_000);
      expect(limit).toBeLessThan(610_000);
      expect(await readdir(drop)).toEqual([]);

      const removed = await root(['activity', 'remove', 'wc']);
      expect(removed.exitCode, removed.stderr).toBe(0);
      expect(JSON.parse((await root(['activity', 'list', '--json'])).stdout)).toEqual([]);
    } finally {
      await killSupervisors(env.RP_HOME);
      await removeProjectImages(project);
      await removeUnixUser(user);
      await host.cleanup();
    }
  }, 180_000);
});

describe.skipIf(skipWithoutDocker || !runningAsRoot)('a project shared by users', () => {
  it("keeps each user's image of it: one user's build never removes another's", async () => {
    const host = await makeTempDir('rp-shared-');
    const users = [await createUnixUser('rpsa'), await createUnixUser('rpsb')];
    const shared = join(host.dir, 'shared');
    try {
      await chmod(host.dir, 0o755);
      await cp(EXAMPLE, shared, { recursive: true });
      // Content of its own, so no other test's image of the example is reused.
      await writeFile(
        join(shared, 'docker', 'hook_post_useradd'),
        `ENV RP_TEST_UNIQUE=${host.dir}\n`,
      );
      const env = { RP_HOME: join(host.dir, 'host') };
      expect((await rp(['host', 'init'], { cwd: host.dir, env })).exitCode).toBe(0);
      for (const user of users) {
        const built = await rp(['build', '--quiet'], { cwd: shared, env, asUser: user.name });
        expect(built.exitCode, built.stderr).toBe(0);
      }
      for (const user of users) {
        const filters = [
          '--filter',
          `label=rp.project-path=${shared}`,
          '--filter',
          `label=rp.user=${user.name}`,
        ];
        expect((await docker(['images', '-q', ...filters])).stdout.trim(), user.name).not.toBe('');
      }
    } finally {
      await removeProjectImages(shared);
      for (const user of users) await removeUnixUser(user);
      await host.cleanup();
    }
  }, 180_000);
});

describe.skipIf(!runningAsRoot)('rp activity, refusals', () => {
  it('refuses to define an activity as a user who is not root, before touching anything', async () => {
    const host = await makeTempDir('rp-drop-user-');
    const user = await createUnixUser('rpdc');
    try {
      await chmod(host.dir, 0o755);
      const added = await rp(
        ['activity', 'add', 'x', '--project', EXAMPLE, '--script', 'count.sh'],
        { cwd: host.dir, env: { RP_HOME: join(host.dir, 'host') }, asUser: user.name },
      );
      expect(added.exitCode).toBe(3);
      expect(added.stderr).toContain('"rp activity add" needs root');
      expect(await readdir(host.dir)).toEqual([]);
    } finally {
      await removeUnixUser(user);
      await host.cleanup();
    }
  });
});
