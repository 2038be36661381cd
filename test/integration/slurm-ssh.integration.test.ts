import { execa } from 'execa';
import { chmod, chown, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rp, type RpResult } from '../support/cli.js';
import { assertDockerForCi, BASE_IMAGE, docker, removeProjectImages } from '../support/docker.js';
import { until } from '../support/rp-project.js';
import { inSqueue, scancel, scontrolJob, skipWithoutSlurm, startSlurm } from '../support/slurm.js';
import {
  masterPids,
  skipWithoutSsh,
  startSshServer,
  type SshServer,
} from '../support/ssh-server.js';
import { makeTempDir } from '../support/tmp.js';

/**
 * `backend.ssh`: the Slurm commands run on a login node over ssh. The login node is the sshd of
 * scripts/ssh/start.sh on 127.0.0.1, whose user (rpremote1) runs sbatch, squeue and scancel of
 * the single-node cluster of scripts/slurm/start.sh. rp runs here as that same user, as on a
 * cluster where the submitting machine and the nodes share users and `sharedDir`; it reads the
 * server's ssh config through RP_SSH_CONFIG.
 */
describe.skipIf(skipWithoutSlurm || skipWithoutSsh)('rp run --backend slurm over ssh', () => {
  let server: SshServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  const submitted: string[] = [];

  const asUser = (args: string[]): Promise<RpResult> =>
    rp(args, { cwd: join(dir, 'proj'), env, asUser: server.user });

  const logins = async (): Promise<number> =>
    (await readFile(server.log, 'utf8')).split('Accepted publickey').length - 1;

  const phaseOf = async (id: string): Promise<string | undefined> => {
    const ps = await asUser(['ps', '--json']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    const rows = (JSON.parse(ps.stdout) as { backendJobs?: Array<{ id: string; phase: string }> })
      .backendJobs;
    return rows?.find((row) => row.id === id)?.phase;
  };

  beforeAll(async () => {
    assertDockerForCi();
    await startSlurm();
    server = await startSshServer();
    ({ dir, cleanup } = await makeTempDir('rp-slurm-ssh-'));
    const ids = await execa('id', ['-u', server.user]);
    const gid = await execa('id', ['-g', server.user]);
    const [uid, group] = [Number(ids.stdout), Number(gid.stdout)];
    // The user's own copy of the client side: its key, the pinned host key, the alias.
    const ssh = join(dir, 'ssh');
    await mkdir(ssh, { mode: 0o700 });
    await copyFile(server.identity, join(ssh, 'id_ed25519'));
    await copyFile(join(server.config, '..', 'known_hosts'), join(ssh, 'known_hosts'));
    const config = (await readFile(server.config, 'utf8'))
      .replace(/IdentityFile .*/, `IdentityFile ${join(ssh, 'id_ed25519')}`)
      .replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${join(ssh, 'known_hosts')}`);
    await writeFile(join(ssh, 'config'), config, { mode: 0o600 });
    await mkdir(join(dir, 'proj'));
    // rp's shared ssh connections (control sockets) in a private folder of the user's.
    const control = join(dir, 'control');
    await mkdir(control, { mode: 0o700 });
    for (const path of [
      dir,
      ssh,
      control,
      join(dir, 'proj'),
      ...['id_ed25519', 'known_hosts', 'config'].map((f) => join(ssh, f)),
    ])
      await chown(path, uid, group);
    await chmod(join(ssh, 'id_ed25519'), 0o600);
    await chmod(dir, 0o755);
    env = {
      RP_HOME: join(dir, 'proj', '.host'),
      RP_SSH_CONFIG: join(ssh, 'config'),
      RP_SSH_CONTROL_DIR: control,
    };

    const hostInit = await asUser(['host', 'init']);
    expect(hostInit.exitCode, hostInit.stderr).toBe(0);
    const configFile = join(env.RP_HOME as string, 'config.json');
    const hostConfig = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    hostConfig.backend = { type: 'slurm', ssh: server.alias, sharedDir: join(dir, 'shared') };
    await writeFile(configFile, JSON.stringify(hostConfig, null, 2));
    const init = await asUser([
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
    const scripts = {
      'hello.sh': 'echo "hello $1 as $(id -un)"; exit 3',
      'long.sh': 'trap "echo got TERM; exit 143" TERM; echo started; while :; do sleep 0.2; done',
    };
    for (const [name, body] of Object.entries(scripts)) {
      const file = join(dir, 'proj', name);
      await writeFile(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      await chown(file, uid, group);
    }
  });

  afterEach(async () => {
    await scancel(submitted.splice(0));
  });

  afterAll(async () => {
    if (dir === undefined) return;
    const control = env.RP_SSH_CONTROL_DIR as string;
    for (const pid of await masterPids(control, server.config, server.alias).catch(() => [])) {
      process.kill(pid, 'SIGTERM');
    }
    await removeProjectImages(join(dir, 'proj'));
    await cleanup();
  });

  it("Given backend.ssh, When rp run submits, Then sbatch and squeue run on the login node as the user, over one connection, and the output and the script's exit code come back", async () => {
    const before = await logins();
    const result = await asUser(['run', '--backend', 'slurm', '--script=hello.sh there']);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stdout).toContain(`hello there as ${server.user}`);
    const slurmJobId = /\(slurm job (\d+)\)/.exec(result.stderr)?.[1] as string;
    expect(slurmJobId, result.stderr).toBeDefined();
    const host = await asUser(['host', 'show']);
    expect(host.stdout).toContain(`ssh ${server.alias}`);
    const ps = await asUser(['ps']);
    expect(ps.stdout).toContain(`through ssh ${server.alias}`);
    // sbatch, a squeue a second while the job ran, then rp ps: all on one shared connection.
    expect(await logins()).toBe(before + 1);
  });

  it('Given backend.ssh and a running job, When rp kill cancels it, Then scancel over ssh ends it and its container', async () => {
    const result = await asUser(['run', '--backend', 'slurm', '--detach', '--script=long.sh']);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    const [id, slurmJobId] = [match?.[1] as string, match?.[2] as string];
    submitted.push(slurmJobId);
    expect((await scontrolJob(slurmJobId)).UserId).toMatch(new RegExp(`^${server.user}\\(`));
    await until('the job to print "started"', async () => {
      const logs = await asUser(['logs', id]);
      return logs.stdout.includes('started') ? true : undefined;
    });
    expect(await phaseOf(id)).toBe('running');

    const kill = await asUser(['kill', id]);
    expect(kill.exitCode, kill.stderr).toBe(0);
    expect(kill.stdout).toContain(`cancelled rp${id}`);
    await until(`Slurm job ${slurmJobId} and its container to be gone`, async () => {
      if ((await inSqueue([slurmJobId])).length > 0) return undefined;
      const left = await docker(['ps', '-aq', '--filter', `label=rp.slurm-job=${slurmJobId}`]);
      return left.stdout.trim() === '' ? true : undefined;
    });
    expect(await phaseOf(id)).toBe('cancelled');
    expect((await asUser(['logs', id])).stdout).toContain('got TERM');
  });
});
