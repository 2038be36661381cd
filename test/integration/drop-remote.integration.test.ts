import { execa } from 'execa';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RP_BIN, type RpResult } from '../support/cli.js';
import { assertDockerForCi, removeProjectImages } from '../support/docker.js';
import { readHistory, until } from '../support/rp-project.js';
import {
  masterPids,
  skipWithoutSsh,
  startSshServer,
  type SshServer,
} from '../support/ssh-server.js';
import { makeTempDir } from '../support/tmp.js';

const EXAMPLE = new URL('../../examples/wordcount/', import.meta.url).pathname;

/**
 * `rp drop ACTIVITY FILE --host NAME` from a "laptop" (no host, no Docker) to the real OpenSSH
 * server of scripts/ssh/start.sh: the file lands in the server's drop folder, whole and owned by
 * the ssh user, and the server's drain runs it as that user.
 */
describe.skipIf(skipWithoutSsh)('rp drop --host over ssh', () => {
  let server: SshServer;
  let laptop: { dir: string; cleanup: () => Promise<void> };
  let env: Record<string, string>;
  let project: string;
  const activity = `wc${process.pid}`;

  const rpHere = (args: string[]): Promise<RpResult> =>
    execa(process.execPath, [RP_BIN, ...args], { cwd: laptop.dir, env, reject: false }).then(
      (r) => ({ exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr }),
    );
  /** rp as root on the server's host. */
  const rpThere = (args: string[]): Promise<RpResult> =>
    execa(process.execPath, [RP_BIN, ...args], {
      cwd: '/',
      env: { RP_HOME: server.rpHome },
      reject: false,
    }).then((r) => ({ exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr }));

  beforeAll(async () => {
    assertDockerForCi();
    server = await startSshServer();
    laptop = await makeTempDir('rp-drop-laptop-');
    await mkdir(join(laptop.dir, 'ssh'), { mode: 0o700 });
    env = {
      NO_COLOR: '1',
      RP_HOME: join(laptop.dir, 'no-host'),
      DOCKER_HOST: `unix://${join(laptop.dir, 'no-docker.sock')}`,
      RP_REMOTES_FILE: join(laptop.dir, 'remotes.json'),
      RP_SSH_CONFIG: server.config,
      RP_SSH_CONTROL_DIR: join(laptop.dir, 'ssh'),
    };
    expect((await rpHere(['remote', 'add', 'srv', server.alias])).exitCode).toBe(0);
    // The activity on the server, defined by its admin (root there).
    project = `/tmp/rp-drop-remote-${process.pid}`;
    await cp(EXAMPLE, project, { recursive: true });
    await chmod(project, 0o755);
    // Its own image repository: the activities test builds the same example in parallel, and the
    // cleanup of either must not remove the image of the other's queued job.
    const info = join(project, '.rp', 'info.json');
    const settings = JSON.parse(await readFile(info, 'utf8')) as Record<string, unknown>;
    await writeFile(info, JSON.stringify({ ...settings, tag: 'rp/root-wordcount-remote' }));
    const added = await rpThere([
      'activity',
      'add',
      activity,
      '--project',
      project,
      '--script',
      'count.sh',
      '--accept',
      '*.txt',
      '--stable-seconds',
      '0',
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (!server) return;
    await rpThere(['activity', 'remove', activity]);
    await removeProjectImages(project);
    await rm(project, { recursive: true, force: true });
    await rm(join(server.home, 'rp-output', activity), { recursive: true, force: true });
    for (const pid of await masterPids(
      env.RP_SSH_CONTROL_DIR as string,
      server.config,
      server.alias,
    ).catch(() => [])) {
      process.kill(pid, 'SIGTERM');
    }
    await laptop?.cleanup();
  });

  it("puts the file whole into the server's drop folder; the server's drain runs it as the ssh user", async () => {
    const file = join(laptop.dir, 'far.txt');
    await writeFile(file, 'sent from far away\n');
    const dropped = await rpHere(['drop', activity, file, '--host', 'srv', '--json']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(JSON.parse(dropped.stdout)).toMatchObject({ activity, host: 'srv' });

    // A second file of the same name while the first waits: refused, the first one kept.
    await writeFile(file, 'another\n');
    const again = await rpHere(['drop', activity, file, '--host', 'srv']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('a file named "far.txt" is already waiting');
    // A name the activity does not accept is refused here, before anything is sent.
    await writeFile(join(laptop.dir, 'paper.pdf'), 'x\n');
    const refused = await rpHere([
      'drop',
      activity,
      join(laptop.dir, 'paper.pdf'),
      '--host',
      'srv',
    ]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('"paper.pdf" does not match *.txt');

    const drain = await rpThere(['activity', 'drain', activity, '--json']);
    expect(drain.exitCode, drain.stderr).toBe(0);
    const [queued] = (JSON.parse(drain.stdout) as { queued: Array<{ job: string; user: string }> })
      .queued;
    expect(queued?.user).toBe(server.user);
    const ended = await until('the job to end', async () =>
      (await readHistory(server.rpHome)).find((record) => record.id === queued?.job),
    );
    expect(ended).toMatchObject({ ending: 'exited', exitCode: 0 });
    const count = join(server.home, 'rp-output', activity, `far-${queued?.job}`, 'count.txt');
    expect(await readFile(count, 'utf8')).toContain('words 4');
    const owner = (await stat(count)).uid;
    expect(owner).toBe(Number((await execa('id', ['-u', server.user])).stdout));
  });
});
