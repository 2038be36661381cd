import { execa } from 'execa';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  removeProjectImages,
  runInImage,
  skipWithoutDocker,
} from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

/**
 * The user layer as a real non-root user sees it: a throwaway Unix user in the docker group runs
 * rp, and the image must map its uid AND gid, including when the base image already has a user
 * and group with those ids (as Ubuntu 24.04 images have ubuntu:1000) and when /bin/sh is bash.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp build as a non-root user', () => {
  let user: UnixUser;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    assertDockerForCi();
    user = await createUnixUser('rpt');
    ({ dir, cleanup } = await makeTempDir('rp-user-'));
    await chown(dir, user.uid, user.gid);
  });

  afterAll(async () => {
    await removeProjectImages(dir);
    await cleanup();
    await removeUnixUser(user);
  });

  async function buildAsUser(baseDockerfile: string): Promise<string> {
    await writeFile(join(dir, 'docker/Dockerfile'), baseDockerfile);
    const result = await rp(['build', '--json'], { cwd: dir, asUser: user.name });
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { reference: string }).reference;
  }

  it('scaffolds the project as that user', async () => {
    const result = await rp(['init', '--base', BASE_IMAGE], { cwd: dir, asUser: user.name });
    expect(result.exitCode, result.stderr).toBe(0);
    const info = await execa('stat', ['-c', '%u:%g', join(dir, '.rp/info.json')]);
    expect(info.stdout).toBe(`${user.uid}:${user.gid}`);
  });

  it('maps the uid and gid on a plain base', async () => {
    const reference = await buildAsUser(`FROM ${BASE_IMAGE}\n`);
    expect(await runInImage(reference, ['sh', '-c', 'id -u; id -g; id -un; echo $HOME; pwd'])).toBe(
      [user.uid, user.gid, user.name, `/home/${user.name}`, `/home/${user.name}`].join('\n'),
    );
  });

  it('takes over a user and group that already hold the uid and gid in the base', async () => {
    const reference = await buildAsUser(
      [
        `FROM ${BASE_IMAGE}`,
        `RUN groupadd -g ${user.gid} occupant && useradd -m -u ${user.uid} -g ${user.gid} occupant`,
        '',
      ].join('\n'),
    );
    expect(await runInImage(reference, ['sh', '-c', 'id -u; id -g; id -un'])).toBe(
      [user.uid, user.gid, user.name].join('\n'),
    );
  });

  it('works when a user of the same name exists with other ids', async () => {
    const reference = await buildAsUser(
      [`FROM ${BASE_IMAGE}`, `RUN useradd -m -u 4321 ${user.name}`, ''].join('\n'),
    );
    expect(await runInImage(reference, ['sh', '-c', 'id -u; id -g; id -un'])).toBe(
      [user.uid, user.gid, user.name].join('\n'),
    );
  });

  it('does not depend on /bin/sh being dash', async () => {
    const reference = await buildAsUser(`FROM ${BASE_IMAGE}\nRUN ln -sf bash /bin/sh\n`);
    expect(await runInImage(reference, ['sh', '-c', 'readlink /bin/sh; id -u; id -g'])).toBe(
      ['bash', user.uid, user.gid].join('\n'),
    );
  });

  it("runs the job with the user's other groups: a group-readable paths.json folder reads", async () => {
    // Given a dataset only a group of the user's (not their own group) may read: 0750 / 0640,
    const groupName = `${user.name}d`;
    await execa('groupadd', [groupName]);
    const data = await makeTempDir('rp-group-data-');
    try {
      await execa('usermod', ['-a', '-G', groupName, user.name]);
      const gid = Number((await execa('getent', ['group', groupName])).stdout.split(':')[2]);
      await writeFile(join(data.dir, 'secret.txt'), 'only for the group\n', { mode: 0o640 });
      await chown(join(data.dir, 'secret.txt'), 0, gid);
      await chown(data.dir, 0, gid);
      await chmod(data.dir, 0o750);
      // listed in paths.json of a project with a queue of its own,
      await writeFile(join(dir, '.rp/paths.json'), JSON.stringify([data.dir]));
      const rpHome = join(dir, '.host');
      await mkdir(rpHome);
      await chown(rpHome, user.uid, user.gid);
      const env = { RP_HOME: rpHome };
      const hostInit = await rp(['host', 'init'], { cwd: dir, env, asUser: user.name });
      expect(hostInit.exitCode, hostInit.stderr).toBe(0);
      await writeFile(
        join(dir, 'read.sh'),
        `#!/bin/bash\nid -G\ncat "$HOME/${basename(data.dir)}/secret.txt"\n`,
        { mode: 0o755 },
      );

      // when the user runs a job, it is in that group and reads the file.
      const result = await rp(
        ['run', '--script=read.sh', '--gpu', '0', '--cpu', '1', '--mem', '0.5'],
        { cwd: dir, env, asUser: user.name },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      const [groups = '', content] = result.stdout.split('\n');
      expect(groups.split(' ')).toContain(String(gid));
      expect(content).toBe('only for the group');
    } finally {
      await writeFile(join(dir, '.rp/paths.json'), '[]\n');
      await data.cleanup();
      await execa('groupdel', [groupName], { reject: false });
    }
  });
});
