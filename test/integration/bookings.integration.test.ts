import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp, type RpResult } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { editHostConfig, readHistory, until } from '../support/rp-project.js';
import { killSupervisors } from '../support/supervisors.js';
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
  startedAt?: string;
  endedAt: string;
  grant?: { cpus: number[] };
}

interface BookedWindow {
  id: string;
  start: string;
  end: string;
}

/** The kill wait of this host: a limit plus this must end before a booking for a job to slip in. */
const KILL_WAIT_SECONDS = 2;

/**
 * Bookings honoured by the scheduler (issue: time limits, bookings and usage reports), on the real
 * engine with two real Unix users and CPU-only bookings: bob books every core; alice's unlimited
 * job waits until the booking ends, her short limited job starts at once; bob's job submitted
 * during the booking runs at once though alice's is queued ahead; an idle booking is released.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('bookings (real Docker engine)', () => {
  const users: UnixUser[] = [];
  let host: { dir: string; cleanup: () => Promise<void> };
  let rpHome: string;
  const projectOf = (user: UnixUser): string => join(host.dir, user.name);
  const as = (user: UnixUser, args: string[]): Promise<RpResult> =>
    rp(args, { cwd: projectOf(user), env: { RP_HOME: rpHome }, asUser: user.name });
  const detach = async (user: UnixUser, args: string[]): Promise<string> => {
    const result = await as(user, ['run', '--detach', ...args]);
    expect(result.exitCode, result.stderr).toBe(0);
    return /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1] as string;
  };
  const ended = (id: string, timeoutMs: number): Promise<Run> =>
    until(
      `job ${id} to end`,
      async () => {
        await rp(['ps'], { cwd: host.dir, env: { RP_HOME: rpHome } });
        const records = (await readHistory(rpHome)) as unknown as Run[];
        return records.find((record) => record.id === id);
      },
      timeoutMs,
    );

  /** Books both cores for `user` from a minute or so ahead, for `duration`. */
  const bookEveryCore = async (user: UnixUser, duration: string): Promise<BookedWindow> => {
    const args = ['book', '--cpu', '2', '--start', '+60s', '--duration', duration, '--json'];
    const booked = await as(user, args);
    expect(booked.exitCode, booked.stderr).toBe(0);
    return JSON.parse(booked.stdout) as BookedWindow;
  };

  beforeAll(async () => {
    assertDockerForCi();
    host = await makeTempDir('rp-book-');
    await chmod(host.dir, 0o755);
    rpHome = join(host.dir, 'host');
    const init = await rp(['host', 'init'], { cwd: host.dir, env: { RP_HOME: rpHome } });
    expect(init.exitCode, init.stderr).toBe(0);
    await editHostConfig(rpHome, (config) => {
      config.capacity.cpus = 2;
      config.limits = { killWaitSeconds: KILL_WAIT_SECONDS };
      (config as unknown as { bookings: unknown }).bookings = { idleReleaseMinutes: 1 };
    });
    for (const prefix of ['rpka', 'rpkb']) {
      const user = await createUnixUser(prefix);
      users.push(user);
      const dir = projectOf(user);
      await mkdir(dir);
      await chown(dir, user.uid, user.gid);
      const created = await as(user, [
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
      expect(created.exitCode, created.stderr).toBe(0);
      await writeFile(
        join(dir, 'quick.sh'),
        '#!/bin/bash\necho "$(id -un) ran"\nsleep "${1:-0}"\n',
        {
          mode: 0o755,
        },
      );
      await chown(join(dir, 'quick.sh'), user.uid, user.gid);
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

  it('keeps every booked core for the booker, and lets in only jobs that end before it starts', async () => {
    const [alice, bob] = users as [UnixUser, UnixUser];
    const window = await bookEveryCore(bob, '2m');
    const start = Date.parse(window.start);
    const end = Date.parse(window.end);

    // alice's job without a limit waits for the booking to end; her 10 s job (plus the 2 s kill
    // wait) ends before the booking starts, so it starts at once.
    const unlimited = await detach(alice, ['--script=quick.sh 5']);
    const short = await detach(alice, ['--script=quick.sh 5', '--time', '10s']);
    const shortRun = await ended(short, 60_000);
    expect(Date.parse(shortRun.startedAt as string)).toBeLessThan(start);
    expect((await readHistory(rpHome)).some((record) => record.id === unlimited)).toBe(false);

    // Once the booking has begun, bob's job starts at once, though alice's is queued ahead.
    await until(
      'the booking to start',
      async () => (Date.now() >= start ? true : undefined),
      130_000,
    );
    const bobs = await detach(bob, ['--script=quick.sh 5']);
    const bobsRun = await ended(bobs, 60_000);
    expect(Date.parse(bobsRun.startedAt as string)).toBeLessThan(end);

    const unlimitedRun = await ended(unlimited, 130_000);
    expect(unlimitedRun.user).toBe(alice.name);
    expect(Date.parse(unlimitedRun.startedAt as string)).toBeGreaterThanOrEqual(end);

    // The report's CPU-hours are what the jobs ran (cores × their time), within 5 %.
    const runs = (await readHistory(rpHome)) as unknown as Run[];
    const ranHours = runs.reduce(
      (sum, run) =>
        sum +
        ((run.grant?.cpus.length ?? 0) *
          (Date.parse(run.endedAt) - Date.parse(run.startedAt ?? run.endedAt))) /
          3_600_000,
      0,
    );
    const report = await rp(['report', '--since', '1h', '--format', 'json'], {
      cwd: host.dir,
      env: { RP_HOME: rpHome },
    });
    expect(report.exitCode, report.stderr).toBe(0);
    const total = (
      JSON.parse(report.stdout) as { total: { cpu_hours: number; booked_hours: number } }
    ).total;
    expect(ranHours).toBeGreaterThan(0);
    expect(Math.abs(total.cpu_hours - ranHours)).toBeLessThanOrEqual(0.05 * ranHours);
    // bob's booking of 2 cores for 2 minutes has begun: booked hours count it up to now.
    expect(total.booked_hours).toBeGreaterThan(0);
  }, 400_000);

  it('runs a preemptible job on booked cores, and preempts it when the booking begins', async () => {
    const [alice, bob] = users as [UnixUser, UnixUser];
    const window = await bookEveryCore(bob, '1m');

    // No limit, yet it starts at once on the booked cores: it is preemptible. It runs in the
    // foreground, where its user must be told why it stopped.
    const foreground = as(alice, ['run', '--script=quick.sh 600', '--cpu', '2', '--preemptible']);
    const preemptible = await until('the preemptible job to run', async () => {
      const ps = await as(alice, ['ps', '--json']);
      const status = JSON.parse(ps.stdout) as {
        running: Array<{ id: string; state: string; user: string }>;
      };
      return status.running.find((job) => job.user === alice.name && job.state === 'running')?.id;
    });

    // At the start, bob's job waits for the cores; the preemptible job is stopped for it.
    await until(
      'the booking to start',
      async () => (Date.now() >= Date.parse(window.start) ? true : undefined),
      130_000,
    );
    const bobs = await detach(bob, ['--script=quick.sh']);
    const stopped = await ended(preemptible, 90_000);
    expect(stopped.ending).toBe('preempted');
    const run = await foreground;
    expect(run.exitCode, run.stderr).toBe(143);
    expect(run.stderr).toMatch(
      new RegExp(`rp${preemptible} was preempted: booking b\\d{4} of ${bob.name} began at `),
    );
    const bobsRun = await ended(bobs, 90_000);
    expect(Date.parse(bobsRun.startedAt as string)).toBeLessThan(Date.parse(window.end));
  }, 400_000);

  it('releases a booking that nobody uses for idleReleaseMinutes after its start', async () => {
    const [alice] = users as [UnixUser, UnixUser];
    const booked = await as(alice, [
      'book',
      '--cpu',
      '1',
      '--start',
      'now',
      '--duration',
      '10m',
      '--json',
    ]);
    expect(booked.exitCode, booked.stderr).toBe(0);
    const window = JSON.parse(booked.stdout) as BookedWindow;
    const releasedBy = Date.parse(window.start) + 60_000;

    await until(
      'the idle booking to be released',
      async () => {
        // A listing's reaping pass tends the bookings.
        await as(alice, ['ps']);
        const listed = await as(alice, ['bookings', '--json']);
        const ids = (JSON.parse(listed.stdout || '[]') as BookedWindow[]).map((entry) => entry.id);
        return ids.includes(window.id) ? undefined : true;
      },
      200_000,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(releasedBy);
  }, 300_000);
});
