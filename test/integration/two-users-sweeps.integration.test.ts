import { chmod, mkdir, readFile, stat, writeFile, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { editHostConfig, readHistory, until } from '../support/rp-project.js';
import { killSupervisors, supervisorPids } from '../support/supervisors.js';
import { makeTempDir } from '../support/tmp.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface Run {
  id: string;
  user: string;
  ending: string;
  exitCode?: number;
  startedAt?: string;
  endedAt: string;
  logFile?: string;
  array?: { task: number };
}

/**
 * Two users' detached sweeps on one host: one supervisor runs both, each task as its own user,
 * and the cores are shared by the fairness rules (real Docker engine, real Unix users).
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)("two users' detached sweeps", () => {
  const users: UnixUser[] = [];
  let host: { dir: string; cleanup: () => Promise<void> };
  let rpHome: string;
  const projectOf = (user: UnixUser): string => join(host.dir, user.name);

  beforeAll(async () => {
    assertDockerForCi();
    host = await makeTempDir('rp-fair-');
    await chmod(host.dir, 0o755);
    rpHome = join(host.dir, 'host');
    const init = await rp(['host', 'init'], { cwd: host.dir, env: { RP_HOME: rpHome } });
    expect(init.exitCode, init.stderr).toBe(0);
    await editHostConfig(rpHome, (config) => {
      config.capacity.cpus = 2;
    });
    for (const prefix of ['rpfa', 'rpfb']) {
      const user = await createUnixUser(prefix);
      users.push(user);
      const dir = projectOf(user);
      await mkdir(dir);
      await chown(dir, user.uid, user.gid);
      const created = await rp(
        ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.5'],
        { cwd: dir, env: { RP_HOME: rpHome }, asUser: user.name },
      );
      expect(created.exitCode, created.stderr).toBe(0);
      await writeFile(join(dir, 'task.sh'), '#!/bin/bash\nsleep 1\necho "$(id -un) $1"\n', {
        mode: 0o755,
      });
      await writeFile(
        join(dir, 'hold.sh'),
        '#!/bin/bash\nuntil [ -e gate ]; do sleep 0.1; done\n',
        {
          mode: 0o755,
        },
      );
      for (const file of ['task.sh', 'hold.sh']) {
        await chown(join(dir, file), user.uid, user.gid);
      }
    }
  }, 300_000);

  afterAll(async () => {
    if (rpHome) await killSupervisors(rpHome);
    for (const user of users) {
      await removeProjectImages(projectOf(user));
      await removeUnixUser(user);
    }
    await host?.cleanup();
  });

  it('runs both through one supervisor, each task as its user, sharing the cores fairly', async () => {
    const [alice, bob] = users as [UnixUser, UnixUser];
    // Both sweeps are queued before anything runs: a job of alice's holds both cores meanwhile.
    const holder = await rp(['run', '--script=hold.sh', '--cpu', '2', '--detach'], {
      cwd: projectOf(alice),
      env: { RP_HOME: rpHome },
      asUser: alice.name,
    });
    expect(holder.exitCode, holder.stderr).toBe(0);
    const ids = new Map<string, UnixUser>();
    for (const user of [alice, bob]) {
      const result = await rp(['run', '--array', '0-5', '--script=task.sh {i}'], {
        cwd: projectOf(user),
        env: { RP_HOME: rpHome },
        asUser: user.name,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      ids.set(/^rp(\d{4}):/m.exec(result.stdout)?.[1] as string, user);
    }
    expect((await supervisorPids(rpHome)).length).toBe(1);
    await writeFile(join(projectOf(alice), 'gate'), '');

    const runs = await until(
      'all 12 tasks to end',
      async () => {
        const records = (await readHistory(rpHome)) as unknown as Run[];
        const tasks = records.filter((record) => ids.has(record.id));
        return tasks.length >= 12 ? tasks : undefined;
      },
      180_000,
    );

    // Every task ran, as its own user, writing its own user's log file.
    for (const run of runs) {
      const user = ids.get(run.id) as UnixUser;
      expect(run, `${run.id}_${run.array?.task}`).toMatchObject({ user: user.name, exitCode: 0 });
      expect(await readFile(run.logFile as string, 'utf8')).toBe(
        `${user.name} ${run.array?.task}\n`,
      );
      expect((await stat(run.logFile as string)).uid).toBe(user.uid);
    }

    // While both still have tasks waiting, both get cores: a freed core goes to whoever holds less
    // (the head of the queue, once chosen, keeps its claim, so one user may start a few in a row).
    // In submission order, alice's six would all run before bob's first.
    const startOf = (run: Run): number => Date.parse(run.startedAt as string);
    const lastStart = (user: UnixUser): number =>
      Math.max(...runs.filter((run) => run.user === user.name).map(startOf));
    const contended = runs
      .filter((run) => startOf(run) < Math.min(lastStart(alice), lastStart(bob)))
      .sort((a, b) => startOf(a) - startOf(b))
      .map((run) => run.user);
    // Which user's task ends first decides who gets the next core, so the exact shares vary with
    // the machine's load (a b a a b a a is fair); starving one user is what must never happen.
    const order = contended.join(' ');
    expect(contended.length, order).toBeGreaterThanOrEqual(6);
    for (const user of [alice, bob]) {
      expect(contended.filter((name) => name === user.name).length, order).toBeGreaterThanOrEqual(
        2,
      );
    }
    expect(contended.slice(0, 3), order).toContain(bob.name);
  }, 300_000);
});
