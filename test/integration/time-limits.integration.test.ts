import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  editHostConfig,
  jobIdOf,
  until,
  waitForOutput,
  type RpProject,
} from '../support/rp-project.js';

/** The parts of a history line these tests read. */
interface TimedRecord {
  id: string;
  ending: string;
  exitCode?: number;
  startedAt?: string;
  endedAt: string;
}

/** The kill wait these tests configure: SIGKILL this long after SIGTERM. */
const KILL_WAIT_SECONDS = 2;

/** Seconds from a record's start to its end. */
function ranFor(record: TimedRecord): number {
  return (Date.parse(record.endedAt) - Date.parse(record.startedAt ?? record.endedAt)) / 1000;
}

/**
 * Time limits (issue: time limits, bookings and usage reports), on the real engine: the job's own
 * supervisor stops it at its limit, foreground or detached; a job whose supervisor died is
 * stopped by the next rp command; the user's maxTime is enforced at submission.
 */
describe.skipIf(skipWithoutDocker)('time limits (real Docker engine)', () => {
  let project: RpProject;

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-time-limits-', {
      hostConfig: (config) => {
        config.capacity.cpus = 2;
        config.limits = { killWaitSeconds: KILL_WAIT_SECONDS };
      },
    });
    // Ignores SIGTERM (and so does its sleep), so only SIGKILL ends it.
    await project.script('stubborn.sh', "trap '' TERM\necho started\nsleep 60");
    await project.script(
      'checkpoint.sh',
      [
        'echo "deadline $RP_DEADLINE"',
        'trap \'echo "USR1 with $(( RP_DEADLINE - $(date +%s) ))s left"; exit 0\' USR1',
        'for i in $(seq 300); do sleep 0.2; done',
        'echo "no USR1 came"',
      ].join('\n'),
    );
    await project.script('quick.sh', 'echo done');
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  const record = async (id: string): Promise<TimedRecord | undefined> =>
    ((await project.history()) as unknown as TimedRecord[]).find((entry) => entry.id === id);

  it('stops a foreground job at its limit: SIGTERM, SIGKILL after the kill wait, exit 124', async () => {
    const child = project.startRun(['--script=stubborn.sh', '--time', '5s']);
    const id = await jobIdOf(child);
    const result = await child;

    expect(result.exitCode).toBe(124);
    expect(result.stderr).toContain(`rp${id} reached its time limit of 5s and was stopped`);
    const ended = await record(id);
    expect(ended).toMatchObject({ ending: 'timeout' });
    // It ignored SIGTERM, so it ran its 5 s and the kill wait, and not much more.
    expect(ranFor(ended as TimedRecord)).toBeGreaterThanOrEqual(5 + KILL_WAIT_SECONDS - 1);
    expect(ranFor(ended as TimedRecord)).toBeLessThan(5 + KILL_WAIT_SECONDS + 5);
  });

  it('sends --signal ahead of the limit and tells the job its deadline', async () => {
    const result = await project.rp([
      'run',
      '--script=checkpoint.sh',
      '--time',
      '12s',
      '--signal',
      'USR1@6',
    ]);

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^deadline \d{10}$/m);
    const left = Number(/USR1 with (\d+)s left/.exec(result.stdout)?.[1]);
    expect(left).toBeGreaterThanOrEqual(4);
    expect(left).toBeLessThanOrEqual(6);
  });

  it('stops a detached job at its limit, and shows its limit and time left meanwhile', async () => {
    const submitted = await project.rp(['run', '--script=stubborn.sh', '--detach', '--time', '6s']);
    expect(submitted.exitCode, submitted.stderr).toBe(0);
    const id = /rp(\d{4}) runs in the background/.exec(submitted.stdout)?.[1] as string;

    const running = await until('the detached job to run', async () => {
      const ps = await project.rp(['ps', '--json']);
      const status = JSON.parse(ps.stdout) as {
        running: Array<{
          id: string;
          state: string;
          timeLimitSeconds: number;
          leftMs: number;
          startedAt: string;
          deadline: string;
        }>;
      };
      return status.running.find((job) => job.id === id && job.state === 'running');
    });
    expect(running.timeLimitSeconds).toBe(6);
    // The clock counts from the next whole second after the start (RP_DEADLINE is in seconds).
    const limitMs = Date.parse(running.deadline) - Date.parse(running.startedAt);
    expect(limitMs).toBeGreaterThanOrEqual(6000);
    expect(limitMs).toBeLessThanOrEqual(7000);
    // What is left, as of the listing's own clock (read a moment before the ledger, under load).
    expect(running.leftMs).toBeGreaterThan(0);
    expect(running.leftMs).toBeLessThan(8000);

    const ended = await until('the timeout to be recorded', () => record(id), 30_000);
    expect(ended.ending).toBe('timeout');
    expect(ranFor(ended)).toBeLessThan(6 + KILL_WAIT_SECONDS + 5);
  });

  it('stops an overdue job whose rp run was killed, from the next rp command', async () => {
    const child = project.startRun(['--script=stubborn.sh', '--time', '3s']);
    const id = await jobIdOf(child);
    await waitForOutput(child, /started/);
    child.kill('SIGKILL');
    await child.catch(() => undefined);

    // Nobody follows the job now; listings reap, and stop what is past its deadline.
    const ended = await until(
      'a listing to stop and reap the orphan',
      async () => {
        await project.rp(['ps']);
        return record(id);
      },
      40_000,
    );
    expect(ended.ending).toBe('timeout');
    expect(await project.jobContainers(id)).toEqual([]);
  });

  it("refuses a limit above the user's maxTime, naming the cap, and gives the cap to jobs without one", async () => {
    await editHostConfig(project.rpHome, (config) => {
      config.limits = { killWaitSeconds: KILL_WAIT_SECONDS, default: { maxTime: '1m' } };
    });
    try {
      const tooLong = await project.rp(['run', '--script=quick.sh', '--time', '2m']);
      expect(tooLong.exitCode).toBe(3);
      expect(tooLong.stderr).toContain('may run jobs of at most 1m');
      const unlimited = await project.rp(['run', '--script=quick.sh', '--time', 'unlimited']);
      expect(unlimited.exitCode).toBe(3);
      expect(unlimited.stderr).toContain('has no time limit');

      const capped = await project.rp(['run', '--script=quick.sh']);
      expect(capped.exitCode, capped.stderr).toBe(0);
      expect(capped.stderr).toMatch(/running: .*time limit 1m/);
    } finally {
      await editHostConfig(project.rpHome, (config) => {
        config.limits = { killWaitSeconds: KILL_WAIT_SECONDS };
      });
    }
  });

  it('says what is wrong with a bad --time or --signal, before anything is queued', async () => {
    const badTime = await project.rp(['run', '--script=quick.sh', '--time', 'soon']);
    expect(badTime.exitCode).toBe(2);
    expect(badTime.stderr).toContain('--time "soon" is not a length of time');
    const noLimit = await project.rp(['run', '--script=quick.sh', '--signal', 'USR1']);
    expect(noLimit.exitCode).toBe(2);
    expect(noLimit.stderr).toContain('--signal needs a time limit');
    expect((await project.ledger()).jobs).toEqual([]);
  });
});
