import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, type RpProject } from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

/** The parts of `rp history --json` these tests read. */
interface HistoryJson {
  id: string;
  user: string;
  project: string;
  command: string;
  ending: string;
  exitCode: number | null;
  grant: { gpus: number[]; cpus: number[] } | null;
  startedAt: string | null;
  endedAt: string;
  elapsedMs: number | null;
}

interface ReportRowJson {
  user: string;
  gpu_hours: number;
  cpu_hours: number;
  jobs: number;
  failed: number;
  timeouts: number;
  'share_%': number;
}

interface ReportJson {
  from: string;
  to: string;
  by: string;
  share_of: string;
  rows: ReportRowJson[];
  total: ReportRowJson;
}

describe.skipIf(skipWithoutDocker)('rp history and rp report (real Docker engine)', () => {
  let project: RpProject;
  let user: string;
  let projectName: string;
  let ran: HistoryJson[];

  const json = async <T>(args: string[], asUser?: string): Promise<T> => {
    const result = await project.rp(args, { asUser });
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    assertDockerForCi();
    // 755: another user of the host reaches $RP_HOME inside the project folder.
    project = await createRpProject('rp-usage-', { dirMode: 0o755 });
    ({ name: projectName, username: user } = await project.info());
    await project.script('ok.sh', 'sleep 2; exit 0');
    await project.script('fails.sh', 'sleep 1; exit 3');

    // Given one job that exits 0 and, after it, one that exits 3,
    const ok = await project.rp(['run', '--script=ok.sh']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const fails = await project.rp(['run', '--script=fails.sh']);
    expect(fails.exitCode, fails.stderr).toBe(3);
    ran = await json<HistoryJson[]>(['history', '--json']);
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('lists both jobs, newest first, with how they ended and what they held', () => {
    expect(ran.map((job) => [job.command, job.ending, job.exitCode])).toEqual([
      ['fails.sh', 'exited', 3],
      ['ok.sh', 'exited', 0],
    ]);
    for (const job of ran) {
      expect(job).toMatchObject({ user, project: projectName, grant: { gpus: [] } });
      expect(job.grant?.cpus).toHaveLength(1);
      expect(job.elapsedMs).toBe(Date.parse(job.endedAt) - Date.parse(job.startedAt ?? ''));
      expect(job.elapsedMs).toBeGreaterThanOrEqual(1000);
    }
  });

  it('keeps the records in the file of the month they ended in', async () => {
    const { history } = ledgerPaths(project.rpHome);
    const months = new Set(ran.map((job) => `${job.endedAt.slice(0, 7)}.jsonl`));
    expect((await readdir(history.dir)).sort()).toEqual([...months].sort());
    expect(existsSync(history.legacy)).toBe(false);
  });

  it('shows a table, one user, a limit, and says so when nothing matches', async () => {
    const table = await project.rp(['history']);
    expect(table.exitCode, table.stderr).toBe(0);
    const [header, ...lines] = table.stdout.split('\n');
    expect(header).toMatch(/^JOB\s+USER\s+PROJECT\s+ENDING\s+EXIT\s+GPUS\s+CPUS\s+STARTED/);
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(ran.map((job) => job.id));

    expect(await json<HistoryJson[]>(['history', '--limit', '1', '--json'])).toEqual([ran[0]]);
    expect(await json(['history', '--user', 'nobody-here', '--json'])).toEqual([]);
    const none = await project.rp(['history', '--user', 'nobody-here']);
    expect(none).toMatchObject({ exitCode: 0, stdout: '' });
    expect(none.stderr).toBe('No finished jobs of nobody-here.');

    const bad = await project.rp(['history', '--limit', '0']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--limit');
  });

  it('reports the CPU-hours the history records, in JSON and CSV alike', async () => {
    // cores × elapsed, summed over both jobs (no GPUs: shares are of CPU-hours).
    const cpuHours = ran.reduce(
      (sum, job) => sum + (job.grant?.cpus.length ?? 0) * ((job.elapsedMs ?? 0) / 3_600_000),
      0,
    );
    const report = await json<ReportJson>(['report', '--format', 'json']);
    expect(report.share_of).toBe('cpu_hours');
    expect(report.rows).toHaveLength(1);
    const [row] = report.rows;
    expect(row).toMatchObject({ user, gpu_hours: 0, jobs: 2, failed: 1, timeouts: 0 });
    expect(row?.cpu_hours).toBeCloseTo(cpuHours, 3);
    expect(row?.['share_%']).toBe(100);
    expect(report.total).toEqual({ ...row, user: 'total' });

    const csv = await project.rp(['report', '--format', 'csv']);
    expect(csv.exitCode, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')).toEqual([
      'user,gpu_hours,cpu_hours,jobs,failed,timeouts,booked_hours,booked_idle_hours,share_%',
      `${user},0,${row?.cpu_hours},2,1,0,0,0,100`,
      `total,0,${row?.cpu_hours},2,1,0,0,0,100`,
    ]);

    const byProject = await json<{ rows: Array<Record<string, unknown>> }>([
      'report',
      '--by',
      'project',
      '--json',
    ]);
    expect(byProject.rows).toEqual([expect.objectContaining({ project: projectName, jobs: 2 })]);
  });

  it('refuses a window that ends before it starts, naming the flags', async () => {
    const result = await project.rp(['report', '--from', '2026-03-02', '--to', '2026-03-01']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^rp: --from \(.*\) must be before --to/);
  });

  describe.skipIf(!runningAsRoot)('as a plain user', () => {
    let other: UnixUser;

    beforeAll(async () => {
      other = await createUnixUser('rpu');
    });
    afterAll(async () => {
      if (other) await removeUnixUser(other);
    });

    it("sees only their own rows, everyone's totals, and others' jobs when asked", async () => {
      const report = await json<ReportJson>(['report', '--json'], other.name);
      expect(report.rows).toEqual([]);
      expect(report.total).toMatchObject({ jobs: 2, failed: 1 });

      expect(await json(['history', '--json'], other.name)).toEqual([]);
      expect(await json(['history', '--all', '--json'], other.name)).toEqual(ran);
    });
  });
});
