/**
 * `rp doctor` on the real engine (issue 14, section 3): a healthy host passes, and each check
 * fails for real when its part is broken: an engine that does not answer, a corrupt ledger, a
 * stale lock, a leftover labelled container, and $RP_HOME modes that shut other users out.
 */
import { chmod, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertDockerForCi,
  BASE_IMAGE,
  docker,
  skipWithoutDocker,
  TEST_LABEL,
} from '../support/docker.js';
import { createRpProject, type RpProject } from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  hint?: string;
}

describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp doctor (real engine)', () => {
  let project: RpProject;
  let outsider: UnixUser | undefined;
  const orphans: string[] = [];

  beforeAll(async () => {
    assertDockerForCi();
    // Reachable by another user: the modes check is what shuts them out, not the temp folder.
    project = await createRpProject('rp-doctor-', { dirMode: 0o755 });
  });

  afterAll(async () => {
    if (orphans.length > 0) await docker(['rm', '-f', ...orphans]);
    await project?.cleanup();
    if (outsider !== undefined) await removeUnixUser(outsider);
  });

  const doctor = async (
    options: { env?: Record<string, string>; asUser?: string } = {},
  ): Promise<{ exitCode: number; checks: Map<string, Check> }> => {
    const result = await project.rp(['doctor', '--json'], options);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(result.exitCode === 0);
    return {
      exitCode: result.exitCode,
      checks: new Map(report.checks.map((check) => [check.id, check])),
    };
  };

  it('passes a healthy host, and names the engine', async () => {
    const { exitCode, checks } = await doctor();
    expect(
      [...checks.values()].filter((check) => check.status === 'fail'),
      JSON.stringify([...checks.values()], null, 2),
    ).toEqual([]);
    expect(exitCode).toBe(0);
    expect(checks.get('docker')?.detail).toMatch(/^Docker \S+ on .* at unix:\/\//);
    expect([...checks.keys()]).toEqual([
      'docker',
      'config',
      'gpu-container',
      'home',
      'ledger',
      'lock',
      'containers',
      'clock',
      'disk',
      'inventory',
    ]);
    // and the table for people says the same
    const text = await project.rp(['doctor']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^ok +docker +Docker /m);
  });

  it('fails when the Docker engine does not answer', async () => {
    // Given DOCKER_HOST points at a socket no engine listens on (the shared test engine stays up)
    const socket = join(project.dir, 'stopped-dockerd.sock');
    const { exitCode, checks } = await doctor({ env: { DOCKER_HOST: `unix://${socket}` } });
    expect(exitCode).toBe(3);
    expect(checks.get('docker')).toMatchObject({ status: 'fail' });
    expect(checks.get('docker')?.hint).toContain('systemctl start docker');
  });

  it('fails on a corrupt ledger and on a lock left by a dead process', async () => {
    const queue = join(project.rpHome, 'queue');
    const ledger = join(queue, 'ledger.json');
    const lock = `${ledger}.lock`;
    // Given a ledger cut off mid-write and a lock directory last refreshed a minute ago
    await writeFile(ledger, '{"version": 1, "nextSeq": 4, "jobs": [');
    await mkdir(lock);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, minuteAgo, minuteAgo);
    try {
      const { exitCode, checks } = await doctor();
      // Then both fail, each saying what to do
      expect(exitCode).toBe(3);
      expect(checks.get('ledger')).toMatchObject({ status: 'fail' });
      expect(checks.get('ledger')?.detail).toContain('not valid JSON');
      expect(checks.get('lock')).toMatchObject({ status: 'fail' });
      expect(checks.get('lock')?.hint).toContain(`rmdir ${lock}`);
    } finally {
      await rm(lock, { recursive: true, force: true });
      await rm(ledger, { force: true });
    }
  });

  it('fails on a container labelled for this queue that no ledger entry owns', async () => {
    // Given a container left behind with this queue's job labels (its rp run was SIGKILLed and
    // the ledger lost)
    const created = await docker([
      'run',
      '-d',
      '--label',
      TEST_LABEL,
      '--label',
      `rp.home=${project.rpHome}`,
      '--label',
      'rp.job=9876',
      '--label',
      'rp.seq=1',
      '--name',
      `rp9876-doctor-${process.pid}`,
      BASE_IMAGE,
      'sleep',
      '300',
    ]);
    expect(created.exitCode, created.stderr).toBe(0);
    orphans.push(created.stdout.trim());
    const { exitCode, checks } = await doctor();
    // Then the containers check fails, naming it and how to remove it
    expect(exitCode).toBe(3);
    expect(checks.get('containers')).toMatchObject({ status: 'fail' });
    expect(checks.get('containers')?.detail).toContain(`rp9876-doctor-${process.pid}`);
    expect(checks.get('containers')?.hint).toContain(`docker rm -f rp9876-doctor-${process.pid}`);
    await docker(['rm', '-f', ...orphans.splice(0)]);
  });

  it('fails when $RP_HOME shuts other users out, as another user sees it too', async () => {
    // Given an admin made the host directory private and the queue folder not group-writable
    outsider = await createUnixUser('rpdoc');
    await chmod(project.rpHome, 0o700);
    await chmod(join(project.rpHome, 'queue'), 0o2755);
    try {
      // Then root's doctor fails the modes, saying to run host init again
      const asRoot = await doctor();
      expect(asRoot.exitCode).toBe(3);
      const home = asRoot.checks.get('home');
      expect(home?.status).toBe('fail');
      expect(home?.detail).toContain('other users cannot enter it');
      expect(home?.detail).toContain('the group cannot queue jobs');
      expect(home?.hint).toMatch(/sudo RP_HOME=\S+ rp host init/);
      // and a user of the docker group cannot even read the config
      const asUser = await doctor({ asUser: outsider.name });
      expect(asUser.exitCode).toBe(3);
      expect(asUser.checks.get('config')).toMatchObject({ status: 'fail' });
      expect(asUser.checks.get('config')?.detail).toContain('permission denied');
    } finally {
      await chmod(project.rpHome, 0o755);
      await chmod(join(project.rpHome, 'queue'), 0o2775);
    }
  });
});
