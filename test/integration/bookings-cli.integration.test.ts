import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDateTime } from '../../src/core/dates.js';
import { formatLocalTime } from '../../src/ui/history-table.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, jobIdOf, waitForOutput, type RpProject } from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

/** `rp book --json` and each entry of `rp bookings --json`. */
interface BookingJson {
  id: string;
  user: string;
  start: string;
  end: string;
  gpus: number;
  gpuIds?: number[];
  cpus: number;
  memoryMb: number;
}

const HOUR = 3_600_000;
const WAIT_MS = 120_000;

/**
 * `rp book` and `rp bookings` as users run them, on a host of one core: booking, listing,
 * refusing what does not fit, cancelling (one's own; root anyone's), CSV export and import, and
 * the warning about a running job that may hold the core into a booking. Booking never needs the
 * Docker engine; the job of the warning does.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp book and rp bookings', () => {
  let project: RpProject;
  let other: UnixUser;
  let me: string;

  const rp = (args: string[], asUser?: string) => project.rp(args, { asUser });
  const json = async <T>(args: string[], asUser?: string): Promise<T> => {
    const result = await rp(args, asUser);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-book-', {
      // The other user reaches $RP_HOME inside the project folder.
      dirMode: 0o755,
      hostConfig: (config) => {
        // One core, so that two bookings of a core at once do not fit.
        config.capacity.cpus = 1;
        (config as { bookings?: object }).bookings = { maxActivePerUser: 4 };
      },
    });
    ({ username: me } = await project.info());
    other = await createUnixUser('rpbk');
  });

  afterAll(async () => {
    if (other) await removeUnixUser(other);
    await project?.cleanup();
  });

  let first: BookingJson;

  it('books a core two hours ahead and lists it as JSON, in a table and on a timeline', async () => {
    const before = Date.now();
    first = await json<BookingJson>([
      'book',
      '--start',
      '+2h',
      '--duration',
      '1h',
      '--cpu',
      '1',
      '--json',
    ]);
    const start = Date.parse(first.start);
    expect(first).toMatchObject({ user: me, gpus: 0, cpus: 1, memoryMb: 0 });
    expect(first.id).toMatch(/^b\d{4}$/);
    expect(first).not.toHaveProperty('gpuIds');
    // "+2h" rounded up to the next whole minute; the hour is exact.
    expect(start % 60_000).toBe(0);
    expect(start).toBeGreaterThanOrEqual(before + 2 * HOUR);
    expect(start).toBeLessThan(before + 2 * HOUR + 120_000);
    expect(Date.parse(first.end) - start).toBe(HOUR);

    expect(await json<BookingJson[]>(['bookings', '--json'])).toEqual([first]);

    const table = await rp(['bookings']);
    expect(table.exitCode, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+USER\s+START\s+END\s+DURATION\s+GPUS\s+CPUS\s+MEMORY\s+STATE$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${first.id}\\s+${me}\\s+${formatLocalTime(first.start)}\\s+${formatLocalTime(first.end)}\\s+1h\\s+0\\s+1\\s+0\\s+in \\d`,
      ),
    );
    const bar = lines.find((line) => line.startsWith(`${first.id} ${me} `));
    expect(bar).toMatch(/·+█+$/);
  });

  it('refuses an overlapping booking beyond the host, naming the conflict (exit 3)', async () => {
    const refused = await rp(['book', '--start', first.start, '--duration', '30m', '--cpu', '1']);
    expect(refused.exitCode).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`1 CPU of 1 CPU are booked (${me} 1 CPU in ${first.id})`);
    expect(await json<BookingJson[]>(['bookings', '--all', '--json'])).toEqual([first]);
  });

  it('exports CSV, and imports it into another window after cancelling', async () => {
    const exported = await rp(['bookings', '--export', 'csv']);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const [header, row, ...rest] = exported.stdout.split('\n');
    expect(header).toBe('start,end,user_id,cpus,memory,gpus,gpu_ids');
    expect(row).toBe(`${formatLocalTime(first.start)},${formatLocalTime(first.end)},${me},1,0,0,`);
    expect(rest.filter(Boolean)).toEqual([]);

    const cancelled = await json<BookingJson>(['book', '--cancel', first.id, '--json']);
    expect(cancelled).toEqual(first);
    const none = await rp(['bookings']);
    expect(none).toMatchObject({ exitCode: 0, stdout: '' });
    expect(none.stderr).toMatch(/^No upcoming or active bookings of /);
    expect(await json(['bookings', '--json'])).toEqual([]);

    // The same booking three hours later, as someone editing the sheet would move it.
    const later = (text: string): string => {
      const at = parseDateTime(text, new Date());
      if (at === undefined) throw new Error(`not a time: ${text}`);
      return formatLocalTime(new Date(at.getTime() + 3 * HOUR));
    };
    const [start = '', end = '', ...fields] = (row ?? '').split(',');
    const moved = `${header}\n${later(start)},${later(end)},${fields.join(',')}\n`;
    const file = join(project.dir, 'bookings.csv');
    await writeFile(file, moved);
    const imported = await json<BookingJson[]>(['book', '--import', file, '--json']);
    expect(imported).toEqual([
      {
        ...first,
        id: imported[0]?.id,
        start: new Date(Date.parse(first.start) + 3 * HOUR).toISOString(),
        end: new Date(Date.parse(first.end) + 3 * HOUR).toISOString(),
      },
    ]);
    const again = await rp(['bookings', '--export', 'csv']);
    // (execa drops the output's last newline)
    expect(`${again.stdout}\n`).toBe(moved);

    // Importing the same rows again does not fit, and names the file and the row.
    const twice = await rp(['book', '--import', file]);
    expect(twice.exitCode).toBe(3);
    expect(twice.stderr).toContain(`${file} row 2: at `);
    expect(await json<BookingJson[]>(['bookings', '--json'])).toEqual(imported);
  });

  it("keeps another user from cancelling root's booking, or importing for root", async () => {
    const [mine] = await json<BookingJson[]>(['bookings', '--json']);
    await chmod(join(project.dir, 'bookings.csv'), 0o644);
    const cancel = await rp(['book', '--cancel', mine?.id ?? ''], other.name);
    expect(cancel.exitCode).toBe(2);
    expect(cancel.stderr).toContain(
      `booking ${mine?.id} is ${me}'s: only they or root may cancel it`,
    );
    const importing = await rp(['book', '--import', join(project.dir, 'bookings.csv')], other.name);
    expect(importing.exitCode).toBe(2);
    expect(importing.stderr).toContain(`row 2: user_id ${me} is not you (${other.name})`);

    // Their own booking is theirs to list; root sees both, and may cancel theirs.
    const theirs = await json<BookingJson>(
      ['book', '--cpu', '1', '--start', '+1h', '--duration', '30m', '--json'],
      other.name,
    );
    expect(theirs.user).toBe(other.name);
    expect(await json<BookingJson[]>(['bookings', '--json'], other.name)).toEqual([theirs]);
    const all = await json<BookingJson[]>(['bookings', '--all', '--json']);
    expect(all.map((booking) => booking.id).sort()).toEqual([mine?.id, theirs.id].sort());
    expect(await json(['book', '--cancel', theirs.id, '--json'])).toEqual(theirs);
  });

  it('refuses --cancel with booking flags, and names the flag of a bad value', async () => {
    const both = await rp(['book', '--cancel', 'b1234', '--cpu', '1']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--cancel cannot be combined with --cpu');
    const start = await rp(['book', '--cpu', '1', '--start', 'soon', '--duration', '1h']);
    expect(start.exitCode).toBe(2);
    expect(start.stderr).toContain('--start: "soon" is not a time');
    expect(start.stderr).toContain('"YYYY-MM-DD HH:MM"');
  });

  it('warns when a running job without a time limit may still hold the core', async () => {
    await project.script('hold.sh', 'echo started\nsleep 300');
    const child = project.startRun(['--script=hold.sh', '--time', '0']);
    const [id] = await Promise.all([
      jobIdOf(child, WAIT_MS),
      waitForOutput(child, /started/, { timeoutMs: WAIT_MS }),
    ]);
    const booked = await rp(['book', '--cpu', '1', '--start', '+10m', '--duration', '10m']);
    expect(booked.exitCode, booked.stderr).toBe(0);
    expect(booked.stdout).toMatch(/^Booked b\d{4} for /);
    expect(booked.stderr).toContain(`job ${id} of ${me} holds 1 CPU with no time limit`);
    await project.stopJobs();
  });
});
