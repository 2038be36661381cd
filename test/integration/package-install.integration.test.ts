import { execa } from 'execa';
import { access, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { makeTempDir } from '../support/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What an admin does on a lab server: `npm install -g` of the packed package, then
 * `rp host init` and `rp doctor`. The package is packed from a copy of the repository's files as
 * a fresh clone has them (no dist/, no manifest), so `prepack` must build it.
 */
describe.skipIf(skipWithoutDocker)('the packed package, installed globally', () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let rpBin: string;

  beforeAll(async () => {
    assertDockerForCi();
    work = await makeTempDir('rp-pack-');
    const clone = join(work.dir, 'clone');
    await mkdir(clone);
    // The files a clone has: tracked, plus new ones git does not ignore (so uncommitted work is
    // packed too); never dist/ or oclif.manifest.json, which are ignored.
    const files = await execa('git', ['ls-files', '-z', '-co', '--exclude-standard'], {
      cwd: REPO,
    });
    await execa('tar', ['--null', '-T', '-', '-cf', join(work.dir, 'files.tar')], {
      cwd: REPO,
      input: files.stdout,
    });
    await execa('tar', ['-xf', join(work.dir, 'files.tar')], { cwd: clone });
    // The dependencies a clone gets from `npm ci`, without fetching them again.
    await symlink(join(REPO, 'node_modules'), join(clone, 'node_modules'));

    const packed = await execa('npm', ['pack', '--pack-destination', work.dir], {
      cwd: clone,
      reject: false,
    });
    expect(packed.exitCode, packed.stderr).toBe(0);
    const tarball = (await readdir(work.dir)).find((name) => /^rp-.*\.tgz$/.test(name));
    expect(tarball, packed.stdout).toBeDefined();

    const prefix = join(work.dir, 'prefix');
    const installed = await execa(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--engine-strict',
        join(work.dir, tarball as string),
      ],
      { reject: false },
    );
    expect(installed.exitCode, installed.stderr).toBe(0);
    rpBin = join(prefix, 'bin', 'rp');
    await access(rpBin);
  }, 600_000);

  afterAll(async () => {
    await work?.cleanup();
  });

  const installedRp = (args: string[]) =>
    execa(rpBin, args, {
      reject: false,
      cwd: work.dir,
      env: { RP_HOME: join(work.dir, 'rp-home'), NO_COLOR: '1' },
    });

  it('runs rp --version, rp host init and rp doctor --json from the installed package', async () => {
    const version = await installedRp(['--version']);
    expect(version.exitCode, version.stderr).toBe(0);
    const { version: expected } = JSON.parse(
      await readFile(join(REPO, 'package.json'), 'utf8'),
    ) as { version: string };
    expect(version.stdout).toMatch(new RegExp(`^rp/${expected.replace(/\./g, '\\.')} `));

    const init = await installedRp(['host', 'init']);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('rp host show');

    const doctor = await installedRp(['doctor', '--json']);
    expect(doctor.exitCode, doctor.stdout).toBe(0);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ id: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.id)).toEqual(
      expect.arrayContaining(['docker', 'config', 'home', 'ledger', 'lock', 'containers']),
    );
  });
});
