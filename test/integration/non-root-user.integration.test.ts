import { execa } from 'execa';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
});
